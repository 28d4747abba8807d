"""How a send went, without tracking anyone: the numbers of `report`, their rates against the limits mail providers
publish, and the pages and JSON they are shown as."""
