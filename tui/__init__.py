"""advisor's terminal UI, built on Textual.

This is the only package that imports textual. It sits on top of the headless core
(`advisor.kb`, `advisor.engine`, `advisor.report`, `advisor.probing`), which never imports it, so
`advisor kb` and `advisor diagnose` start without paying for a UI toolkit. Importing this
package itself is free: the app lives in `tui.app` and is built by `tui.launch.run_tui`.
"""
