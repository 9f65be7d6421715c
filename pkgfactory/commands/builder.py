"""`pkgfactory builder create`: the container image package builds run in."""

import click

from pkgfactory import builder as builders
from pkgfactory.commands._common import console
from pkgfactory.engine import ENGINES, find_engine


@click.group()
def builder():
    """Manage the builder container image."""


@builder.command()
@click.option("--engine", type=click.Choice(["auto", *ENGINES]), default="auto", show_default=True)
@click.option("--image", default=builders.DEFAULT_IMAGE, show_default=True)
@click.option("--verbose", "-v", is_flag=True, help="Show mmdebstrap/engine output live.")
def create(engine, image, verbose):
    """Create (or refresh) the builder image; reuses it when the recipe is unchanged."""
    name, how = builders.create(find_engine(engine), image, verbose=verbose)
    console().print(f"builder image {name} ready ({how})")
