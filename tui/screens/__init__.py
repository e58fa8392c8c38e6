"""One module per screen. Each is imported when first shown, so startup pays only for Home."""
