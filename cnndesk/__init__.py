"""cnndesk: draw a digit, see inside a convolutional network, train it live."""

__version__ = "0.1.0"
