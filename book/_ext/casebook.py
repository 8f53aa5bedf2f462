"""Local Sphinx extension of The LoRA Casebook.

* MathJax is served from the book itself (copied from the ``django-static-mathjax`` wheel, Apache-2.0),
  so formulas render offline and without a CDN.
* The bibliography is labelled in the same author-year style as the citations ("Hu et al., 2021").
* Long code lines and wide outputs wrap or scroll instead of being clipped (narrow screens, phones); a table's
  caption stays in view, wrapped to the screen, while the table scrolls under it.
* A figure's alt text is what the figure shows: the description its PNG carries (:mod:`llmft.report.plots`), not
  the file's path.
* sphinx-thebe's settings script, which the build adds twice (a console error, "THEBE_JS_URL has already been
  declared"), is kept once: in the page context where Sphinx lists it twice, and in the written pages for the
  registrations that reach the HTML anyway (every inline ``<script>`` line kept at its first occurrence).
"""

from __future__ import annotations

import shutil
from pathlib import Path

CSS = """
div.cell div.highlight pre, div.cell_output pre { white-space: pre-wrap; overflow-wrap: anywhere; }
div.cell_output table { display: block; max-width: 100%; overflow-x: auto; }
div.cell_output table td, div.cell_output table th { font-variant-numeric: tabular-nums; }
article p code, article li code, article td code { overflow-wrap: anywhere; }
div.cell_output table caption { position: sticky; left: 0; display: block; max-width: min(100%, calc(100vw - 2.5rem));
  white-space: normal; text-align: left; }
"""


def _mathjax_source() -> Path:
    import mathjax  # the django-static-mathjax wheel: MathJax 3 under mathjax/static/mathjax

    return Path(mathjax.__file__).parent / "static" / "mathjax" / "es5"


def _copy_assets(app, exc) -> None:
    if exc is not None or app.builder.format != "html":
        return
    static = Path(app.outdir) / "_static"
    src, dst = _mathjax_source(), static / "mathjax"
    dst.mkdir(parents=True, exist_ok=True)
    shutil.copy2(src / "tex-mml-chtml.js", dst / "tex-mml-chtml.js")
    shutil.copytree(src / "output" / "chtml" / "fonts" / "woff-v2", dst / "output" / "chtml" / "fonts" / "woff-v2",
                    dirs_exist_ok=True)
    (static / "casebook.css").write_text(CSS)


def _register_author_year() -> None:
    from pybtex.plugin import register_plugin
    from pybtex.style.formatting.unsrt import Style as UnsrtStyle
    from pybtex.style.labels import BaseLabelStyle

    class AuthorYearLabels(BaseLabelStyle):
        def format_labels(self, sorted_entries):
            from collections import Counter

            labels = [self._label(entry) for entry in sorted_entries]
            counts, seen = Counter(labels), Counter()
            for label in labels:  # two works of one author and year: 2022a, 2022b
                if counts[label] > 1:
                    seen[label] += 1
                    label += "abcdefghij"[seen[label] - 1]
                yield label

        @staticmethod
        def _label(entry) -> str:
            people = entry.persons.get("author") or entry.persons.get("editor") or []
            if people:
                name = " ".join(people[0].last_names)
                name += " et al." if len(people) > 2 else (" and " + " ".join(people[1].last_names) if len(people) == 2 else "")
            else:
                name = entry.fields.get("organization") or entry.fields.get("publisher") or entry.key
            name = name.replace("{", "").replace("}", "")  # {DeepLearning.AI}: a name kept whole in BibTeX
            return f"{name}, {entry.fields.get('year', 'n.d.')}"

    class AuthorYearStyle(UnsrtStyle):
        default_label_style = "casebook-author-year"

    register_plugin("pybtex.style.labels", "casebook-author-year", AuthorYearLabels)
    register_plugin("pybtex.style.formatting", "casebook-author-year", AuthorYearStyle)


def _png_description(path: Path) -> str | None:
    try:
        from PIL import Image

        with Image.open(path) as image:
            return image.info.get("Description") or None
    except (OSError, ImportError):
        return None


def _alt_from_png(app, doctree, docname) -> None:
    from docutils import nodes

    page = Path(app.env.doc2path(docname)).parent
    for image in doctree.findall(nodes.image):
        uri = image.get("uri", "")
        if not uri.endswith(".png") or (image.get("alt") and image["alt"] != uri):
            continue
        for path in (Path(app.srcdir) / uri, page / uri, Path(app.outdir) / uri):
            description = _png_description(path) if path.is_file() else None
            if description:
                image["alt"] = description
                break


def _one_thebe_settings_script(app, pagename, templatename, context, doctree) -> None:
    scripts, seen, kept = context.get("script_files") or [], set(), []
    for script in scripts:
        key = (str(script), tuple(sorted(getattr(script, "attributes", {}).items())))
        if key in seen:
            continue
        seen.add(key)
        kept.append(script)
    scripts[:] = kept


def _drop_repeated_inline_scripts(app, exc) -> None:
    """In every written page, an inline ``<script>...</script>`` line that repeats an earlier one is removed (the
    second ``const THEBE_JS_URL`` stops the page's scripts with "has already been declared")."""
    import re

    if exc is not None or app.builder.format != "html":
        return
    inline = re.compile(r"^\s*<script>.*</script>\s*$")
    for page in Path(app.outdir).rglob("*.html"):
        lines, seen, kept = page.read_text(encoding="utf-8").split("\n"), set(), []
        for line in lines:
            if inline.match(line):
                if line.strip() in seen:
                    continue
                seen.add(line.strip())
            kept.append(line)
        if len(kept) != len(lines):
            page.write_text("\n".join(kept), encoding="utf-8")


def setup(app):
    _register_author_year()
    app.add_css_file("casebook.css")
    app.connect("build-finished", _copy_assets)
    app.connect("build-finished", _drop_repeated_inline_scripts)
    app.connect("doctree-resolved", _alt_from_png)
    app.connect("html-page-context", _one_thebe_settings_script, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
