"""What ``examples/pneumonia.py`` needs beyond minicnn: one module per part of the story.

============== =====================================================================
options.py     the command line: ``train`` (default), ``cv``, ``predict``
data.py        step 1: find the data (folder, ``.npz`` or download), split it by patient
patients.py    the patient of a Kaggle file, from its name
classes.py     ``--task``: binary, or NORMAL / BACTERIA / VIRUS from the file names
pneumoniamnist.py  the PneumoniaMNIST files: where they are, their md5, their classes
pictures.py    step 2 (look at the data) and step 6 (explain the results)
models.py      the original CNN and the batch-normalised variant
training.py    step 3: augmentation, preprocessing, ``fit`` keeping the best epoch
evaluation.py  steps 4, 5, 7: threshold on validation, test once, report
report.py      step 7's page: the answer first (headline, beside another run), details last
multiclass.py  steps 4 to 7 for ``--task 3class``: argmax calls, per-class figures, Grad-CAM
report_multiclass.py  step 7's page for ``--task 3class``: the per-class headline first
stress.py      the stress test: validation with films squeezed, stretched, blurred, sharpened
cv.py          ``cv``: patient-grouped K-fold cross-validation on train/
predict.py     ``predict``: a saved model on new films, with Grad-CAM
outputs.py     the run folder's CSV tables
============== =====================================================================

Nothing here is a framework feature: it is the glue a project around minicnn would write.
Importing the package imports none of its modules (``from chest_xray.models import
original_cnn`` loads only what the models need).
"""
