"""Heat maps: colour maps, overlays, upsampling."""
