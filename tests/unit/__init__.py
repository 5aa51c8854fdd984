"""Fast tests of the book's Sphinx extension (``_ext/dxbook``): tiny books under
``tests/roots/`` built in-process with ``sphinx.testing``, and plain unit tests."""
