# The warm converter's bridge to one long-running LibreOffice (lndx, src/convert/warm.rs).
# argv[1]: the pipe LibreOffice accepts UNO connections on. Reads one JSON request a line on
# stdin ({"input", "output", "target", "filter"}), answers one JSON line on stdout
# ({"ok": true} or {"ok": false, "error": …}). Documents are loaded hidden, read-only,
# without running macros (MacroExecutionMode NEVER_EXECUTE) or updating links
# (UpdateDocMode NO_UPDATE); linked resources are blocked by the profile, as for the cold
# converter. When stdin closes, LibreOffice is told to quit.
import json
import sys
import time

import uno
from com.sun.star.beans import PropertyValue

FILTERS = {"docx": "MS Word 2007 XML", "xlsx": "Calc MS Excel 2007 XML"}


def prop(name, value):
    p = PropertyValue()
    p.Name = name
    p.Value = value
    return p


def answer(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def connect(pipe):
    local = uno.getComponentContext()
    resolver = local.ServiceManager.createInstanceWithContext(
        "com.sun.star.bridge.UnoUrlResolver", local)
    url = "uno:pipe,name=%s;urp;StarOffice.ComponentContext" % pipe
    deadline = time.time() + 60
    while True:
        try:
            ctx = resolver.resolve(url)
            return ctx.ServiceManager.createInstanceWithContext("com.sun.star.frame.Desktop", ctx)
        except Exception:
            if time.time() > deadline:
                raise
            time.sleep(0.05)


def convert(desktop, req):
    load = [prop("Hidden", True), prop("ReadOnly", True),
            prop("MacroExecutionMode", 0), prop("UpdateDocMode", 0)]
    if req.get("filter"):
        load.append(prop("FilterName", req["filter"]))
    doc = desktop.loadComponentFromURL(
        uno.systemPathToFileUrl(req["input"]), "_blank", 0, tuple(load))
    if doc is None:
        raise RuntimeError("LibreOffice could not load the file")
    try:
        doc.storeToURL(uno.systemPathToFileUrl(req["output"]),
                       (prop("FilterName", FILTERS[req["target"]]),))
    finally:
        doc.close(True)


def main():
    desktop = connect(sys.argv[1])
    answer({"ready": True})
    for line in sys.stdin:
        try:
            # A cheap call first: when LibreOffice has died since the last file, say so
            # before trying anything, so that lndx starts it again and retries.
            desktop.getComponents()
        except Exception as e:
            answer({"ok": False, "dead": True, "error": "%s: %s" % (type(e).__name__, e)})
            return
        try:
            convert(desktop, json.loads(line))
            answer({"ok": True})
        except Exception as e:  # reported to lndx, which falls back or answers the sender
            answer({"ok": False, "error": "%s: %s" % (type(e).__name__, e)})
    try:
        desktop.terminate()
    except Exception:
        pass


main()
