"""Show the package's own code on a page, so chapters explain the code they run instead of a copy."""

from __future__ import annotations

import inspect


def show_source(*objects) -> None:
    """Display the source of functions or classes as one highlighted Python block."""
    from IPython.display import Markdown, display

    code = "\n\n".join(inspect.getsource(obj) for obj in objects)
    display(Markdown(f"```python\n{code}```"))
