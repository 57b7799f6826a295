"""erosion: soil-erosion modelling on raster grids (CSLE, RUSLE, SL 190-2007 classes)."""
