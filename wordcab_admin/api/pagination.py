from rest_framework.pagination import CursorPagination


class NewestFirstCursorPagination(CursorPagination):
    """`{"next", "previous", "results"}`, newest first; the cursor keeps deep pages as fast as the first."""

    ordering = "-id"
    page_size = 50
    page_size_query_param = "limit"
    max_page_size = 500
