"""pkgfactory: offline RPM/DEB package factory for air-gapped targets."""

__version__ = "0.1.0"
