"""The dtypes the eager API names, and its default float (PyTorch's float32)."""
import numpy as np

float32 = np.float32
float64 = np.float64
int32 = np.int32
int64 = np.int64
bool_ = np.bool_
DEFAULT_FLOAT = np.dtype(np.float32)
