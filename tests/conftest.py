import sys
from pathlib import Path

# Lets the test modules share small helpers (book_files.py) without a package.
sys.path.insert(0, str(Path(__file__).resolve().parent))
