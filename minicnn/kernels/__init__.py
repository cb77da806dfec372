"""The hot loops, each written twice: a plain NumPy reference and a Numba kernel."""
