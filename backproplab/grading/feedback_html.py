"""nbgrader's feedback page from nbconvert's ``HTMLExporter``, without its BeautifulSoup pass.

``HTMLExporter.from_notebook_node`` renders the template, then parses the whole page with BeautifulSoup to add
an ``alt`` text to images that lack one and ``tabindex="0"`` to the cells of JupyterLab-style templates (nbgrader's
feedback template extends the classic one, which has no such cells), and serialises the page again. On a course
notebook that pass is about 70 % of a page's time (measured: 97 ms a page with it, 28 ms for the template alone).
:class:`FeedbackExporter` renders the same template with the same filters and adds the same ``alt`` text with a
regular expression; ``tests/grading/test_feedback_html.py`` checks that both pages are the same document. It
also remembers the HTML of each code cell's highlighted source (Pygments takes about 1.5 ms a cell) and of each
Markdown cell without attachments (mistune: about 1 ms a cell): in a class, most cells are the same in every
submission.
"""

from __future__ import annotations

import re

from jinja2 import pass_context
from nbconvert.exporters import HTMLExporter
from nbconvert.exporters.templateexporter import TemplateExporter
from nbconvert.filters.highlight import Highlight2HTML
from nbconvert.filters.widgetsdatatypefilter import WidgetsDataTypeFilter

__all__ = ["MISSING_ALT", "FeedbackExporter"]

#: nbconvert's alt text for an image that has none
MISSING_ALT = "No description has been provided for this image"
#: What rendered Markdown may hold in a sanitized page (no script, style, event handler, form or frame)
_MARKDOWN_TAGS = frozenset({"a", "abbr", "b", "blockquote", "br", "code", "del", "div", "em", "h1", "h2", "h3",
                            "h4", "h5", "h6", "hr", "i", "img", "li", "ol", "p", "pre", "span", "strong", "sub",
                            "sup", "table", "tbody", "td", "th", "thead", "tr", "ul"})
_MARKDOWN_ATTRIBUTES = {"*": ["class", "id"], "a": ["href", "title"], "img": ["src", "alt", "title"],
                        "td": ["align"], "th": ["align"]}
_IMG_WITHOUT_ALT = re.compile(r"<img(?![^>]*\salt=)(?=[\s/>])", re.IGNORECASE)


class _Remembered(dict):
    """A dict of made values that forgets them all once it holds ``size`` of them (a class's cells repeat)."""

    def __init__(self, size: int = 4096):
        super().__init__()
        self.size = size

    def get_or_make(self, key, make):
        """The value kept for ``key``, or ``make()`` kept from now on."""
        value = self.get(key)
        if value is None:
            if len(self) >= self.size:
                self.clear()
            value = self[key] = make()
        return value


class _RememberedHighlight:
    """``Highlight2HTML`` that keeps the HTML of the last distinct (source, language) pairs."""

    def __init__(self, highlight, size: int = 4096):
        self.highlight, self.seen = highlight, _Remembered(size)

    def __call__(self, source, language=None, metadata=None):
        key = (source, language, (metadata or {}).get("magics_language"))
        return self.seen.get_or_make(key, lambda: self.highlight(source, language, metadata))


class FeedbackExporter(HTMLExporter):
    """``HTMLExporter`` for the classic-based feedback template, rendering a page in a third of the time."""

    @pass_context
    def markdown2html(self, context, source):
        """``HTMLExporter.markdown2html``, remembered per source for cells without attachments (with images
        embedded, per source and folder)."""
        if context.get("cell", {}).get("attachments"):
            return self._clean(super().markdown2html(context, source))
        path = context.get("resources", {}).get("metadata", {}).get("path", "") if self.embed_images else None
        seen = self.__dict__.setdefault("_markdown", _Remembered())
        return seen.get_or_make((source, path, self.sanitize_html),
                                lambda: self._clean(super(FeedbackExporter, self).markdown2html(context, source)))

    def _clean(self, page: str) -> str:
        """nbgrader's feedback template renders Markdown (a learner's cells too) without the classic template's
        ``clean_html``: with ``sanitize_html``, it is applied here."""
        if not self.sanitize_html:
            return page
        import bleach

        return bleach.clean(page, tags=_MARKDOWN_TAGS, attributes=_MARKDOWN_ATTRIBUTES,
                            protocols=["http", "https", "mailto", "data"])

    def from_notebook_node(self, nb, resources=None, **kw):
        """The page of ``nb`` (a NotebookNode) as ``(html, resources)``, as ``HTMLExporter`` renders it."""
        langinfo = nb.metadata.get("language_info", {})
        lexer = langinfo.get("pygments_lexer", langinfo.get("name", None))
        highlight_code = self.filters.get("highlight_code")
        if highlight_code is None:
            remembered = self._remembered = getattr(self, "_remembered", {})
            if lexer not in remembered:
                remembered[lexer] = _RememberedHighlight(Highlight2HTML(pygments_lexer=lexer, parent=self))
            highlight_code = remembered[lexer]
        resources = self._init_resources(resources)
        filter_data_type = WidgetsDataTypeFilter(notebook_metadata=self._nb_metadata, parent=self,
                                                 resources=resources)
        self.register_filter("highlight_code", highlight_code)
        self.register_filter("filter_data_type", filter_data_type)
        page, resources = TemplateExporter.from_notebook_node(self, nb, resources, **kw)
        return _IMG_WITHOUT_ALT.sub(f'<img alt="{MISSING_ALT}"', page), resources
