"""Districts, sites, cameras (public, private, school), owners and privacy masks."""
