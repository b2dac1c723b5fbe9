"""The course website (``dlcourse site``): MkDocs pages built from an earlier ``dlcourse run``.

Build it with :func:`dlcourse.website.build.build_site` (needs the ``site`` extra)."""
