"""The original of a mail, safe to show: HTML reduced to a small allowlist
(no script, no style, no images or other remote content, no event handlers,
links that open nothing by themselves), personnummer removed where the
reader may not see them. The page's CSP blocks anything that slips through."""

from __future__ import annotations

import nh3
from markupsafe import Markup

from classify.sensitive import find, identity_numbers, mask

TAGS = {"p", "br", "div", "span", "b", "strong", "i", "em", "u", "s", "ul", "ol", "li",
        "blockquote", "pre", "code", "table", "thead", "tbody", "tfoot", "tr", "td", "th",
        "h1", "h2", "h3", "h4", "h5", "h6", "hr", "a", "small", "sub", "sup"}
ATTRIBUTES = {"a": {"href"}, "td": {"colspan", "rowspan"}, "th": {"colspan", "rowspan"}}


def safe_html(html: str, show_personnummer: bool) -> Markup:
    if not show_personnummer:  # before sanitising: the placeholder tag is then dropped
        html = mask(html, identity_numbers(find(html)))
    cleaned = nh3.clean(html, tags=TAGS, attributes=ATTRIBUTES, url_schemes={"https", "mailto"},
                     link_rel="noopener noreferrer nofollow", strip_comments=True,
                     clean_content_tags={"script", "style", "iframe", "object", "embed",
                                         "svg", "math", "template", "noscript", "title"})
    return Markup(cleaned)  # noqa: S704 - the output of nh3's allowlist above
