"""Offline package repositories: yum/dnf (createrepo_c) and apt (apt-ftparchive), signed."""

from pkgfactory.repo.apt import COMPONENT, make_apt_repo
from pkgfactory.repo.yum import make_yum_repo

__all__ = ["COMPONENT", "make_apt_repo", "make_yum_repo"]
