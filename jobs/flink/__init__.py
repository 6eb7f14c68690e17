"""PyFlink jobs.

Thread mode finds libpython through the ``python`` on PATH, read once when the JVM starts; importing this
package puts this interpreter's directory first on PATH, before any module of it can start the JVM.
"""

import os
import sys


def ensure_python_on_path() -> None:
    """Put the running interpreter's bin dir first on PATH (a no-op when it already is)."""
    bin_dir = os.path.dirname(sys.executable)
    if os.environ.get("PATH", "").split(os.pathsep)[0] != bin_dir:
        os.environ["PATH"] = bin_dir + os.pathsep + os.environ.get("PATH", "")


ensure_python_on_path()
