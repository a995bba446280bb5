"""Drive JupyterLab in a Playwright page the way a learner does: open a notebook, run it, move sliders.

The page talks to JupyterLab through ``window.jupyterapp`` (exposed with ``--LabApp.expose_app_in_browser``,
as JupyterLab's own UI tests do): commands are the ones the Run menu and the toolbar run, and outputs are read
both from the cell models (output types, exception names) and from the DOM (what is actually rendered).
Errors and stderr both render as ``.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]``,
so the type of an output comes from the model. Widget outputs are ``.jp-OutputArea-output`` elements whose
direct child is a ``.jupyter-widgets`` element (ipywidgets 8; its sliders are noUiSlider ``.noUi-handle``).
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import quote

REPO = Path(__file__).resolve().parents[2]
ROOT = Path(os.environ.get("BACKPROPLAB_BROWSER_ROOT") or REPO).resolve()
ARTIFACTS = REPO / "test-artifacts"
SCREENSHOTS = ARTIFACTS / "screenshots"

#: Text a learner sees instead of a widget when ipywidgets is not working in the page.
WIDGET_FAILURES = ("Error displaying widget", "Loading widget...", "interactive(children=", "VBox(children=",
                   "HBox(children=", "Output(outputs=", "Tab(children=", "Accordion(children=")

#: Lines for the end-of-session summary (memory figure, where the screenshots are).
REPORT: dict[str, str] = {}


def discover(kind: str) -> list[str]:
    """Notebook paths relative to ROOT: ``course/*/*.ipynb`` or ``solutions/*/*.ipynb``, sorted."""
    return sorted(p.relative_to(ROOT).as_posix() for p in ROOT.glob(f"{kind}/*/*.ipynb")
                  if ".ipynb_checkpoints" not in p.parts)


def descendants(pid: int) -> list[int]:
    """Child processes of ``pid``, recursively (Linux /proc)."""
    found, todo = [], [pid]
    while todo:
        p = todo.pop()
        for children in Path(f"/proc/{p}/task").glob("*/children"):
            try:
                kids = [int(c) for c in children.read_text().split()]
            except OSError:
                continue
            found.extend(kids)
            todo.extend(kids)
    return found


def _proc_kib(pid: int, file: str, key: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/{file}").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return 0


def process_memory(pid: int) -> list[dict]:
    """RSS and PSS (MiB) of ``pid`` and all its descendants (the server and its kernels)."""
    rows = []
    for p in [pid, *descendants(pid)]:
        try:
            cmd = Path(f"/proc/{p}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
        except OSError:
            continue
        rows.append({"pid": p, "cmd": cmd, "rss_mib": _proc_kib(p, "status", "VmRSS") / 1024,
                     "pss_mib": _proc_kib(p, "smaps_rollup", "Pss") / 1024})
    return rows


WIDGET_MIME = "application/vnd.jupyter.widget-view+json"
STDERR_MIME = "application/vnd.jupyter.stderr"

JS_OPEN = """
async (path) => {
  const sleep = ms => new Promise(r => setTimeout(r, ms));
  const app = window.jupyterapp;
  await app.started; await app.restored;
  const deadline = Date.now() + 90000;
  let w = null;
  const dialog = () => {
    const d = document.querySelector('.jp-Dialog');
    if (d) throw new Error(`a dialog blocks the notebook: ${d.textContent.trim().slice(0, 300)}`);
  };
  while (!w && Date.now() < deadline) {
    dialog();
    for (const x of app.shell.widgets('main')) {
      if (x.context && x.context.path === path && x.content && x.sessionContext) w = x;
    }
    if (!w) await sleep(100);
  }
  if (!w) throw new Error(`${path} did not open in JupyterLab`);
  window.__bplab = w;
  app.shell.activateById(w.id);
  await w.context.ready;
  await w.sessionContext.ready;
  while (Date.now() < deadline) {
    const k = w.sessionContext.session && w.sessionContext.session.kernel;
    if (k && k.status === 'idle' && k.connectionStatus === 'connected') return k.name;
    dialog();  // e.g. "Select Kernel" when the notebook's kernel is unknown
    await sleep(100);
  }
  throw new Error(`the kernel of ${path} did not start (${w.sessionContext.kernelDisplayStatus})`);
}
"""

# Run > Run All Cells: what a learner does; execution stops at the first error.
JS_RUN_ALL = """
async (timeoutMs) => {
  const app = window.jupyterapp, w = window.__bplab;
  app.shell.activateById(w.id);
  const timeout = new Promise((_, reject) =>
    setTimeout(() => reject(new Error(`Run All Cells did not finish in ${timeoutMs / 1000} s`)), timeoutMs));
  await Promise.race([app.commands.execute('notebook:run-all-cells'), timeout]);
}
"""

# Like Run All Cells, but an error stops only its own cell: after each error, Run > Run Selected Cell and All
# Below from the first cell that did not run (a learner's notebook holds unwritten exercises, and the
# explorers after them must still work).
JS_RUN_EACH = """
async (timeoutMs) => {
  const app = window.jupyterapp, w = window.__bplab, nb = w.content;
  app.shell.activateById(w.id);
  await app.commands.execute('notebook:clear-all-cell-outputs');  // execution counts back to null
  const code = () => nb.widgets.map((c, i) => [c, i])
    .filter(([c]) => c.model.type === 'code' && c.model.sharedModel.getSource().trim());
  const first = code()[0];
  let start = first ? first[1] : -1;
  let rounds = 0;
  while (start >= 0 && rounds < 200) {
    nb.activeCellIndex = start;
    nb.deselectAll();
    const timeout = new Promise((_, reject) =>
      setTimeout(() => reject(new Error(`cells from ${start} did not finish in ${timeoutMs / 1000} s`)), timeoutMs));
    await Promise.race([app.commands.execute('notebook:run-all-below'), timeout]);
    const next = code().find(([c, i]) => i > start && c.model.executionCount === null);
    start = next ? next[1] : -1;
    rounds++;
  }
  return rounds;
}
"""

JS_WAIT_IDLE = """
async (timeoutMs) => {
  const sleep = ms => new Promise(r => setTimeout(r, ms));
  const w = window.__bplab, deadline = Date.now() + timeoutMs;
  let calm = 0;
  while (Date.now() < deadline) {
    const k = w.sessionContext.session && w.sessionContext.session.kernel;
    const running = w.content.widgets.some(c => c.model.type === 'code' &&
      (c.model.executionState === 'running' || (c.promptNode && c.promptNode.textContent.includes('*'))));
    calm = (!k || k.status !== 'idle' || running) ? 0 : calm + 1;
    if (calm >= 5) return true;
    await sleep(100);
  }
  return false;
}
"""

JS_KERNEL_STATUS = """
() => { const s = window.__bplab.sessionContext.session; return s && s.kernel ? s.kernel.status : 'none'; }
"""

JS_WAIT_WIDGETS = """
async (timeoutMs) => {
  const sleep = ms => new Promise(r => setTimeout(r, ms));
  const nb = window.__bplab.content, deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!nb.node.textContent.includes('Loading widget...')) return true;
    await sleep(100);
  }
  return false;
}
"""

# Everything the assertions need, per cell: model outputs and what the DOM shows for them.
# Marks each rendered widget output with data-bplab-explorer="<cell>-<output>".
JS_REPORT = """
(widgetMime) => {
  const w = window.__bplab, nb = w.content;
  const cells = nb.widgets.map((cell, i) => {
    const m = cell.model;
    const src = m.sharedModel.getSource();
    const out = { index: i, id: m.id, type: m.type, source: src.slice(0, 120) };
    if (m.type !== 'code') return out;
    out.execution_count = m.executionCount;
    out.outputs = [];
    for (let k = 0; k < m.outputs.length; k++) {
      const o = m.outputs.get(k).toJSON();
      const text = o.text === undefined ? undefined : (Array.isArray(o.text) ? o.text.join('') : String(o.text));
      out.outputs.push({ type: o.output_type, ename: o.ename, evalue: o.evalue, name: o.name,
                         text: text && text.slice(0, 500), mimes: o.data ? Object.keys(o.data) : [] });
    }
    const area = cell.outputArea.node;
    out.dom = [...area.querySelectorAll(':scope > .jp-OutputArea-child > .jp-OutputArea-output')].map((el, k) => {
      const live = el.querySelector(':scope > .jupyter-widgets');
      const eid = `${i}-${k}`;
      if (live) el.setAttribute('data-bplab-explorer', eid);
      return { mime: el.getAttribute('data-mime-type'), widget: !!live, explorer: live ? eid : null,
               sliders: el.querySelectorAll('.noUi-handle').length, text: el.textContent.slice(0, 300) };
    });
    out.images = [...area.querySelectorAll('img')].map(img => ({
      loaded: img.complete && img.naturalWidth > 0, width: img.naturalWidth, height: img.naturalHeight,
      png: img.src.startsWith('data:image/png'), in_widget: !!img.closest('.jupyter-widgets') }));
    return out;
  });
  const toolbar = [...w.toolbar.node.querySelectorAll('.jp-Toolbar-item')].map(e => ({
    cls: e.className + ' ' + [...e.querySelectorAll('[class]')].map(c => c.className).join(' '),
    text: e.textContent.trim() }));
  const toasts = [...document.querySelectorAll('.Toastify__toast')].map(t => t.textContent.trim());
  return { path: w.context.path, cells, toolbar, toasts, text: nb.node.textContent };
}
"""

# A fingerprint of what an explorer displays, leaving out the control being moved (its readout changes).
JS_SIGNATURE = """
(eid) => {
  const el = document.querySelector(`[data-bplab-explorer="${eid}"]`);
  if (!el) return null;
  const c = el.cloneNode(true);
  c.querySelectorAll('[data-bplab-moved]').forEach(n => n.remove());
  const s = c.innerHTML;
  let h = 0;
  for (let i = 0; i < s.length; i++) h = (Math.imul(h, 31) + s.charCodeAt(i)) | 0;
  return `${s.length}:${h}`;
}
"""

JS_EXPLORER_ERRORS = """
(args) => {
  const [eid, stderrMime] = args;
  const el = document.querySelector(`[data-bplab-explorer="${eid}"]`);
  return el ? [...el.querySelectorAll(`[data-mime-type="${stderrMime}"]`)].map(e => e.textContent.slice(0, 400)) : [];
}
"""

# JupyterLab is loaded from this server, its last notebook was closed by JS_CLOSE, and nothing is in the way.
JS_REUSABLE = """
(server) => !!(window.jupyterapp && window.jupyterapp.shell) && location.href.startsWith(server)
  && window.__bplab === null && !document.querySelector('.jp-Dialog')
  && ![...window.jupyterapp.shell.widgets('main')].some(w => w.context)
"""

JS_CLOSE = """
async () => {
  const w = window.__bplab;
  if (!w || w.isDisposed) return;
  // the server shuts the kernel down while the next notebook opens (awaiting it cost a second per notebook)
  w.sessionContext.shutdown().catch(() => null);
  w.context.model.dirty = false;  // never save: outputs must not reach the committed notebooks
  w.dispose();
  window.__bplab = null;
}
"""


class Lab:
    """One Playwright page on the session's JupyterLab server."""

    def __init__(self, page, server):
        self.page = page
        self.server = server

    # ---------------------------------------------------------------------------------------- notebooks
    def url(self, path: str, workspace: str) -> str:
        # A fresh workspace per notebook: a first visit, nothing restored from an earlier test.
        return f"{self.server.url}/lab/workspaces/{quote(workspace)}/tree/{quote(path)}?token={self.server.token}"

    def open(self, path: str, workspace: str | None = None) -> str:
        """Open ``path`` (relative to the server root) and wait until its kernel is idle; return the kernel.

        The first notebook loads JupyterLab in a fresh workspace (a first visit: nothing restored). The next ones
        open in the same JupyterLab, as a learner opens the next notebook from the file browser, when the previous
        one was closed cleanly and no dialog is up (loading JupyterLab again costs seconds of CPU per notebook);
        otherwise, and whenever ``workspace`` is named, JupyterLab is loaded again."""
        if workspace is None and self.page.evaluate(JS_REUSABLE, self.server.url):
            self.page.evaluate("async (path) => { await window.jupyterapp.commands.execute('docmanager:open', "
                               "{path, factory: 'Notebook'}); }", path)
        else:
            ws = workspace or "bplab-" + path.replace("/", "-").removesuffix(".ipynb")
            self.page.goto(self.url(path, ws))
            self.page.wait_for_function("() => window.jupyterapp && window.jupyterapp.shell", timeout=90_000)
        return self.page.evaluate(JS_OPEN, path)

    def run_all(self, timeout_s: float = 600) -> None:
        self.page.evaluate(JS_RUN_ALL, timeout_s * 1000)

    def run_each(self, timeout_s: float = 600) -> int:
        """Run every cell, going on after errors; return how many runs it took (1 + errors)."""
        return self.page.evaluate(JS_RUN_EACH, timeout_s * 1000)

    def wait_idle(self, timeout_s: float = 120) -> bool:
        return self.page.evaluate(JS_WAIT_IDLE, timeout_s * 1000)

    def wait_widgets(self, timeout_s: float = 30) -> bool:
        return self.page.evaluate(JS_WAIT_WIDGETS, timeout_s * 1000)

    def kernel_status(self) -> str:
        return self.page.evaluate(JS_KERNEL_STATUS)

    def report(self) -> dict:
        return self.page.evaluate(JS_REPORT, WIDGET_MIME)

    def close(self) -> None:
        self.page.evaluate(JS_CLOSE)

    # ---------------------------------------------------------------------------------------- explorers
    def signature(self, eid: str) -> str | None:
        return self.page.evaluate(JS_SIGNATURE, eid)

    def explorer_errors(self, eid: str) -> list[str]:
        return self.page.evaluate(JS_EXPLORER_ERRORS, [eid, STDERR_MIME])

    def explorer_text(self, eid: str) -> str:
        return self.page.locator(f'[data-bplab-explorer="{eid}"]').inner_text()

    def poke(self, eid: str, timeout_s: float = 30, control: str = "slider") -> dict:
        """Move the first slider of explorer ``eid`` with the keyboard (``control="dropdown"``, or when it has
        no slider: choose the next option of its first dropdown) and wait until what the explorer displays
        changes. Returns what was done and whether the display changed."""
        explorer = self.page.locator(f'[data-bplab-explorer="{eid}"]')
        handle = explorer.locator(".noUi-handle").first
        select = explorer.locator(".widget-dropdown select").first
        if handle.count() and control == "slider":
            control = "slider"
            handle.evaluate("h => (h.closest('.widget-slider') || h).setAttribute('data-bplab-moved', '')")
            handle.scroll_into_view_if_needed()
            before = self.signature(eid)
            value = handle.get_attribute("aria-valuenow")
            handle.focus()
            for _ in range(3):
                handle.press("ArrowRight")
            if handle.get_attribute("aria-valuenow") == value:  # already at its maximum
                for _ in range(3):
                    handle.press("ArrowLeft")
            moved = f"{value} -> {handle.get_attribute('aria-valuenow')}"
        elif select.count():
            control = "dropdown"
            select.evaluate("s => (s.closest('.widget-dropdown') || s).setAttribute('data-bplab-moved', '')")
            select.scroll_into_view_if_needed()
            before = self.signature(eid)
            n = select.evaluate("s => s.options.length")
            index = select.evaluate("s => s.selectedIndex")
            select.select_option(index=(index + 1) % max(n, 1))
            moved = f"option {index} -> {(index + 1) % max(n, 1)}"
        else:
            return {"control": None, "changed": False, "moved": ""}
        try:
            self.page.wait_for_function(f"([eid, before]) => ({JS_SIGNATURE})(eid) !== before",
                                        arg=[eid, before], timeout=timeout_s * 1000)
            changed = True
        except Exception:  # playwright TimeoutError
            changed = False
        self.wait_idle()
        return {"control": control, "changed": changed, "moved": moved}

    # ---------------------------------------------------------------------------------------- pictures
    def screenshot(self, path: Path, max_height: int = 16000, whole: bool = True) -> None:
        """The whole notebook as a learner scrolls through it: the viewport is made as tall as the notebook
        (Chromium captures up to 16384 px). ``whole=False``: what the window shows (a fraction of the cost)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        if not whole:
            self.page.screenshot(path=str(path))
            return
        size = self.page.viewport_size
        # Without the blank "scroll past end" space, scrolled to the top.
        scroll, client = self.page.evaluate(
            "() => { const nb = window.__bplab.content.node; nb.classList.remove('jp-mod-scrollPastEnd'); "
            "const o = nb.querySelector('.jp-WindowedPanel-outer') || nb; o.scrollTop = 0; "
            "return [o.scrollHeight, o.clientHeight]; }")
        height = min(size["height"] + max(0, scroll - client), max_height)
        try:
            self.page.set_viewport_size({"width": size["width"], "height": height})
            self.page.wait_for_timeout(600)
            self.page.evaluate("() => Promise.all([...document.images].map(i => i.decode().catch(() => null)))")
            self.page.screenshot(path=str(path), full_page=True)
        finally:
            self.page.set_viewport_size(size)
            self.page.evaluate("() => window.__bplab.content.node.classList.add('jp-mod-scrollPastEnd')")
