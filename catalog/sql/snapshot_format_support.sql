SELECT vendor, architecture, format, support, note, source FROM format_support
ORDER BY vendor, architecture, format
