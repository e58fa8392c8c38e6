"""One reader per log format; each turns files into `LoggedRun`s (advisor.logs.run).

A reader imports its format's package (tensorboard) only when it runs, so that `advisor` works
without the optional extras, and a missing one is a `MissingExtra` naming the pip command.
"""
