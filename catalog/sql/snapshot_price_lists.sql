-- Default first, then newest first: the order lists are offered in.
SELECT price_list AS name, name AS description, source, as_of, is_default FROM price_lists
ORDER BY is_default DESC, as_of DESC, price_list
