"""numba kernels: plain-array functions, kept apart from their xarray wrappers."""
