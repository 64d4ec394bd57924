"""Networks, weights, data sets, and exact / approximate (bit-level multiplier) inference."""
from archsim.nn.network import (Conv2d, Flatten, Linear, MaxPool2d, Network, ReLU, forward,
                                predict_labels)

__all__ = ["Conv2d", "Flatten", "Linear", "MaxPool2d", "Network", "ReLU", "forward",
           "predict_labels"]
