"""mco-newsletter: the multilingual digest of the Movement of Conscientious Objectors."""

__version__ = "0.1.0"
