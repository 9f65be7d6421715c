"""Signing on the host (rpmsign, gpg) and checking signatures against one key."""

from pkgfactory.sign.signer import Signer
from pkgfactory.sign.verify import RpmCheck, rpm_check, verify_clearsigned, verify_detached

__all__ = ["RpmCheck", "Signer", "rpm_check", "verify_clearsigned", "verify_detached"]
