"""Photos: real images only (told by their bytes), size and count limits, served with scope."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from tongxin.events.models import EventPhoto
from tongxin.events.tests.conftest import A_LAT, A_LNG

pytestmark = pytest.mark.django_db

JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + b"\x00" * 64
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"\x00" * 64


def jpeg(name: str = "scene.jpg") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, JPEG, content_type="image/jpeg")


def post(user, world, photos):
    client = APIClient()
    client.force_authenticate(user)
    data = {
        "category": world.category.pk,
        "description": "楼道堆放杂物，堵塞消防通道",
        "lng": A_LNG,
        "lat": A_LAT,
        "photos": photos,
    }
    return client.post(reverse("api-events"), data, format="multipart")


def test_photos_are_stored_and_served_to_those_who_see_the_event(world):
    response = post(
        world.people.grid_manager,
        world,
        [jpeg(), SimpleUploadedFile("b.png", PNG, content_type="image/png")],
    )
    assert response.status_code == 201, response.data
    photos = response.data["photos"]
    assert [p["content_type"] for p in photos] == ["image/jpeg", "image/png"]
    page = Client()
    page.force_login(world.people.community_admin)
    served = page.get(photos[0]["url"])
    assert served.status_code == 200 and served["Content-Type"] == "image/jpeg"
    assert b"".join(served.streaming_content) == JPEG
    page.force_login(world.people.community_admin_b)
    assert page.get(photos[0]["url"]).status_code == 404


def test_a_renamed_file_is_not_a_photo(world):
    fake = SimpleUploadedFile("virus.jpg", b"MZ\x90\x00" + b"\x00" * 60, content_type="image/jpeg")
    response = post(world.people.grid_manager, world, [fake])
    assert response.status_code == 400
    assert "JPEG" in str(response.data["photos"])
    assert not EventPhoto.objects.exists()


def test_photo_size_and_count_are_limited(world, settings):
    settings.EVENTS_PHOTO_MAX_BYTES = 50
    assert post(world.people.grid_manager, world, [jpeg()]).status_code == 400
    settings.EVENTS_PHOTO_MAX_BYTES = 10_000
    settings.EVENTS_PHOTO_MAX_COUNT = 2
    response = post(world.people.grid_manager, world, [jpeg(), jpeg(), jpeg()])
    assert response.status_code == 400
    assert "最多" in str(response.data["photos"])


def test_the_upload_directory_is_not_served_directly():
    from django.urls import Resolver404, resolve

    with pytest.raises(Resolver404):
        resolve("/media/events/2026/01/scene.jpg")
