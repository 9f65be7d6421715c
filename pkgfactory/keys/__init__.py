"""The signing key: a GnuPG home under ``keys/`` that the private key never leaves."""

from pkgfactory.keys.generate import ALGORITHMS, DEFAULT_ALGORITHM, generate_key
from pkgfactory.keys.home import DEFAULT_KEYS_DIR, keys_home
from pkgfactory.keys.keyring import KeyInfo, Keyring
from pkgfactory.keys.passphrase import ENV_VAR as PASSPHRASE_FILE_ENV
from pkgfactory.keys.policy import refuse_unverifiable

__all__ = ["ALGORITHMS", "DEFAULT_ALGORITHM", "DEFAULT_KEYS_DIR", "KeyInfo", "Keyring",
           "PASSPHRASE_FILE_ENV", "generate_key", "keys_home", "refuse_unverifiable"]
