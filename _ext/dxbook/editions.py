"""``config-inited`` and ``builder-inited``: what the two editions do with folded admonitions.

A folded admonition is one with the class ``dropdown`` (a sphinx-exercise solution, a
teacher page's worked example). In the student edition the site's HTML writes it as a
native ``<details>`` whose ``<summary>`` is the admonition's title (:func:`fold_visitors`):
it is folded before any script runs, opens with the keyboard and without JavaScript, and a
browser's find-in-page opens it. sphinx-togglebutton, which did this in the reader's browser
(a button added to every title, the content laid out and then hidden as the page loaded),
is left only the class it is for (``.toggle``; ``assets.unused_assets`` drops its files from
pages that have none). The EPUB and the notebooks keep their own output (a plain admonition,
a Markdown cell).

The teacher edition (``DX_TEACHER=1``) shows every solution, unfolded: nothing is a ``<details>``."""
from __future__ import annotations

import os

from docutils import nodes
from sphinx.application import Sphinx

FOLD_CLASS = "dropdown"


def is_teacher_build() -> bool:
    return os.environ.get("DX_TEACHER", "") not in ("", "0")


def _configure(app: Sphinx, config) -> None:
    # The student edition folds in the HTML itself (below); togglebutton keeps only ``.toggle``.
    config.togglebutton_selector = ".toggle"
    if is_teacher_build():
        config.html_title = f"{config.html_title} (teacher edition)"
        config.html_context = {**config.html_context, "dx_teacher": True}


def folds(translator, node: nodes.Node) -> bool:
    """True when this admonition is written folded: the site's HTML (not the EPUB) of the student edition."""
    return (isinstance(node, nodes.Admonition) and FOLD_CLASS in node.get("classes", ())
            and translator.builder.name == "html" and not is_teacher_build())


def fold_visitors(visit, depart, *, title: bool = False):
    """HTML visitors that write a folded admonition (or, ``title=True``, its title) as
    ``<details>`` (``<summary>``) and leave every other node to ``visit``/``depart``, the
    visitors they replace."""
    if title:
        def visit_folded(self, node, *args):
            if not folds(self, node.parent):
                return visit(self, node, *args)
            self.body.append(self.starttag(node, "summary", "", CLASS="admonition-title"))
            if next(iter(node.findall(nodes.reference)), None) is not None:
                # No link inside the control that opens the box (axe: nested-interactive): a
                # solution's "Solution to Exercise 3.1" is written as text; the exercise is just above.
                self.body.append(self.encode(node.astext()) + "</summary>\n")
                raise nodes.SkipNode
            self.context.append("</summary>\n")  # the title's depart writes it
        return visit_folded, depart

    def visit_folded(self, node, *args):
        if not folds(self, node):
            return visit(self, node, *args)
        # A named admonition (note, tip...) comes with its name, as Sphinx's visit_admonition
        # takes it; like Sphinx, its title ("Note") is put in here, to become the summary.
        name = args[0] if args else ""
        self.body.append(self.starttag(node, "details", CLASS=f"admonition {name}".strip()))
        if name:
            from sphinx.locale import admonitionlabels

            node.insert(0, nodes.title(name, admonitionlabels[name]))

    def depart_folded(self, node, *args):
        if not folds(self, node):
            return depart(self, node, *args)
        self.body.append("</details>\n")
    return visit_folded, depart_folded


def _class_visitors(name: str):
    """The translator's own visitors for ``name`` (looked up on the instance's class at call time)."""
    return (lambda self, node, *a: getattr(type(self), f"visit_{name}")(self, node, *a),
            lambda self, node, *a: getattr(type(self), f"depart_{name}")(self, node, *a))


def _register_folds(app: Sphinx) -> None:
    """At ``builder-inited``, when every extension has registered its visitors: wrap those of
    sphinx-exercise's solutions, of the generic admonition (the named ones, note, tip..., call
    it too) and of titles, keeping whatever handler was registered before."""
    handlers = app.registry.translation_handlers.setdefault("html", {})
    targets = [(nodes.admonition, False), (nodes.title, True)]
    try:
        from sphinx_exercise.nodes import solution_node, solution_title
        targets += [(solution_node, False), (solution_title, True)]
    except ImportError:  # sphinx-exercise is an extra of the book, not of every test project
        pass
    for node_class, title in targets:
        name = node_class.__name__
        visit, depart = handlers.get(name) or _class_visitors("title" if title else name)
        handlers[name] = fold_visitors(visit, depart, title=title)


def setup(app: Sphinx) -> None:
    app.connect("config-inited", _configure)
    app.connect("builder-inited", _register_folds)
