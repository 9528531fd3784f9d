"""The github.com web-chat ("threads") flavour: pure wire format (``_wire``) and its requests."""
