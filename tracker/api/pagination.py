from rest_framework.pagination import CursorPagination


class Pagination(CursorPagination):
    """Cursor pagination: stable under inserts, and one query per page whatever the table size."""

    page_size = 50
    max_page_size = 200
    page_size_query_param = "page_size"
    ordering = "-recorded_at"
