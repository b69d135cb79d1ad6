"""Media decoding for analysis: safe image decoding, EXIF, blurred thumbnails, video probing."""
