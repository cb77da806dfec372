"""Callbacks: small objects that ``fit``, ``evaluate`` and ``predict`` call at fixed moments.

The moments (hooks) have Keras's names, and are called in Keras's order::

    fit:       on_train_begin(logs)
                   on_epoch_begin(epoch, logs)
                       on_train_batch_begin(step, logs)   # before every training step
                       on_train_batch_end(step, logs)     # running loss and metrics of the epoch
                       on_test_begin(logs)                # validation (with validation_data)
                           on_test_batch_begin(step, logs)
                           on_test_batch_end(step, logs)  # running val loss and metrics (no val_)
                       on_test_end(logs)                  # the validation's loss and metrics
                   on_epoch_end(epoch, logs)              # the epoch's, plus their val_ twins
               on_train_end(logs)                         # the last epoch's logs; also after Ctrl-C
    evaluate:  on_test_begin, on_test_batch_begin/end per batch, on_test_end(logs)
    predict:   on_predict_begin(logs)
                   on_predict_batch_begin(step, logs)
                   on_predict_batch_end(step, logs)       # {"outputs": the batch's raw outputs}
               on_predict_end(logs)

``epoch`` and ``step`` count from 0, and every ``logs`` is a dict (empty where Keras's
is). ``on_batch_begin`` / ``on_batch_end`` are Keras's older names of the training-batch
hooks: the base class's ``on_train_batch_begin`` / ``on_train_batch_end`` call them, so a
callback may define either (defining both runs both only if the new one calls
``super()``). A callback that defines an ``on_*`` method which is no hook (a misspelt
``on_epoch_ends``, say) gets a warning when it is given to ``fit``, naming the method and
the hooks: otherwise it would silently never run.

Before the first hook, ``callback.model`` and ``callback.params`` are set (``epochs``,
``steps``, ``batch_size``, ``verbose``). A callback stops training by setting
``self.model.stop_training = True``: as in Keras, ``fit`` stops after the current batch,
then still validates and ends the epoch (``on_epoch_end``).

``fit`` adds three callbacks of its own, as Keras does: ``NaNGuard`` (first; not added
when you pass a ``NaNGuard`` or ``TerminateOnNaN``), ``ProgbarLogger`` (when ``verbose``)
and ``History`` (last; ``fit`` returns it). ``evaluate`` and ``predict`` add only the
``ProgbarLogger``. Ready to pass in, with Keras's names, defaults and semantics:
``EarlyStopping``, ``LearningRateScheduler``, ``ModelCheckpoint``, ``CSVLogger``,
``TerminateOnNaN`` and ``BackupAndRestore``.

Keeping the best weights in memory, without stopping early: Keras's idiom works here,
``EarlyStopping(monitor="val_auc", patience=epochs, restore_best_weights=True)`` (a
patience as long as the run never stops it); ``BestWeights(monitor="val_auc")`` says the
same in one name.
"""

from .backup import BackupAndRestore
from .base import HOOKS, Callback
from .callback_list import CallbackList
from .checkpoint import ModelCheckpoint
from .csv_logger import CSVLogger
from .early_stopping import BestWeights, EarlyStopping
from .history import History
from .lr_scheduler import LearningRateScheduler
from .nan import NaNGuard, TerminateOnNaN
from .progbar import ProgbarLogger

__all__ = ["Callback", "CallbackList", "History", "ProgbarLogger", "NaNGuard", "TerminateOnNaN",
           "EarlyStopping", "BestWeights", "LearningRateScheduler", "ModelCheckpoint",
           "CSVLogger", "BackupAndRestore", "HOOKS"]
