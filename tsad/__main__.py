"""``python -m tsad``: the same command line as the ``tsad`` console script."""

from tsad.cli import main

if __name__ == "__main__":
    main()
