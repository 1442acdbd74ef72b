"""site/index.html asks for every module of the page at once (modulepreload): the list is
the page's whole import graph, so no module waits for the one that imports it to arrive."""

from __future__ import annotations

import re
from pathlib import Path

SITE = Path(__file__).resolve().parents[2] / "site"
IMPORT = re.compile(r"""(?:^import\b[^;]*?\bfrom\s+|\bimport\()\s*'(\./[^']+\.js)'""", re.M)


def imports(module: str, site: Path = SITE) -> set[str]:
    """The modules `module` (a path under site/) imports, static or dynamic, transitively."""
    seen: set[str] = set()
    pending = [module]
    while pending:
        current = pending.pop()
        path = site / current
        # vendor/ is written by build.sh; its modules import nothing.
        if not path.exists():
            continue
        for name in IMPORT.findall(path.read_text()):
            target = (Path(current).parent / name).as_posix()
            if target not in seen:
                seen.add(target)
                pending.append(target)
    return seen


def test_the_page_preloads_exactly_its_import_graph():
    html = (SITE / "index.html").read_text()
    preloaded = re.findall(r'<link rel="modulepreload" href="([^"]+)">', html)
    assert len(preloaded) == len(set(preloaded)), preloaded
    assert '<script type="module" src="app.js">' in html
    graph = imports("app.js")
    assert "vendor/detector-files.js" in graph and "tracking.js" in graph, graph
    assert set(preloaded) == graph


def test_the_import_finder_sees_static_and_dynamic_imports(tmp_path):
    (tmp_path / "a.js").write_text("import { b } from './b.js';\nconst c = import('./c.js');\n")
    (tmp_path / "b.js").write_text("import {\n  d,\n} from './d.js';\n")
    assert imports("a.js", tmp_path) == {"b.js", "c.js", "d.js"}
