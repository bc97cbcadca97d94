"""The site's pages: server-rendered Django templates over the platform's services and selectors,
plus the `demo` command that sets up and serves a demo challenge."""
