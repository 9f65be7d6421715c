from pkgfactory.cli import main

main()
