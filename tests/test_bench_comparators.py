"""The creates bench/ingest.py measures a check-in against store the same row's answers as the product does
(so the comparison is of like with like), and are served only by the benchmark's URL configuration."""

import pytest
from django.urls import NoReverseMatch, reverse
from rest_framework.test import APIClient

from tests.monitoring.support import CAR_T_NORMAL
from tracker.models import ApiToken, CheckIn
from tracker.questions import CLINICAL_FIELDS

QUIET = {**CAR_T_NORMAL, "temperature": "36.8", "heart_rate": 80}


def token_client(user) -> APIClient:
    _, raw = ApiToken.issue(user)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {raw}")
    return client


@pytest.mark.urls("bench.urls")
@pytest.mark.parametrize("path", ["/bench/drf-checkins/", "/bench/bare-checkins/"])
def test_each_comparator_stores_the_answers_the_product_stores(patient, path):
    client = token_client(patient.user)
    assert client.post("/api/v1/checkins/", QUIET, format="json").status_code == 201
    assert client.post(path, QUIET, format="json").status_code == 201
    product, comparator = CheckIn.objects.filter(patient=patient).order_by("pk")
    assert {name: getattr(comparator, name) for name in CLINICAL_FIELDS} == \
        {name: getattr(product, name) for name in CLINICAL_FIELDS}
    assert comparator.local_date == product.local_date


def test_the_product_does_not_serve_them():
    for name in ("bench-drf-checkins", "bench-bare-checkins"):
        with pytest.raises(NoReverseMatch):
            reverse(name)
