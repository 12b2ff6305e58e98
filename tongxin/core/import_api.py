"""REST API of spreadsheet imports (/api/v1/imports/).

- `POST /api/v1/imports/<kind>/` (multipart, field `file`) → 202 with the job;
- `GET /api/v1/imports/{id}/` → status, progress, the first errors, the result;
- `GET /api/v1/imports/{id}/errors/` → the full error report (.xlsx);
- `GET /api/v1/imports/<kind>/template/` → the kind's template (.xlsx);
- `GET /api/v1/imports/` → the caller's own jobs.

A job is visible to its creator only: anyone else gets 404, as for a job that does not exist.
"""

from __future__ import annotations

from typing import Any

from django.http import FileResponse, Http404, HttpResponse
from django.urls import path, register_converter, reverse
from django.utils.translation import gettext_lazy as _
from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from drf_spectacular.plumbing import ResolvedComponent
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
)
from rest_framework import generics, serializers, status
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from tongxin.core import import_jobs, imports
from tongxin.core.exports import content_disposition, xlsx_download
from tongxin.core.models import ImportJob, ImportStatus
from tongxin.core.policy import SIGNED_IN
from tongxin.core.xlsx import XLSX_CONTENT_TYPE

API_ERRORS = 200


class KindConverter:
    """An import kind: a lowercase slug that never looks like a job id."""

    regex = r"[a-z][a-z0-9_-]{0,39}"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


register_converter(KindConverter, "import_kind")


class ImportStatusField(serializers.ChoiceField):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(choices=ImportStatus.choices, **kwargs)


class ImportStatusFieldExtension(OpenApiSerializerFieldExtension):
    """The job status as its own named enum: several models have a `status` field, and
    drf-spectacular would otherwise have to invent a hashed name to tell their enums apart."""

    target_class = ImportStatusField

    def map_serializer_field(self, auto_schema: Any, direction: Any) -> dict[str, Any]:
        component = ResolvedComponent(
            name="ImportStatusEnum",
            type=ResolvedComponent.SCHEMA,
            object="ImportStatusEnum",
            schema={
                "type": "string",
                "enum": list(ImportStatus.values),
                "description": "\n".join(
                    f"* `{value}` - {label}" for value, label in ImportStatus.choices
                ),
            },
        )
        auto_schema.registry.register_on_missing(component)
        return component.ref


class ProgressSerializer(serializers.Serializer):
    processed = serializers.IntegerField(label=_("已处理行数"))
    total = serializers.IntegerField(label=_("数据行数"))
    percent = serializers.IntegerField(label=_("进度（百分比）"))


class IssueSerializer(serializers.Serializer):
    row = serializers.IntegerField(
        allow_null=True, label=_("行号（Excel 中的行号；文件级错误为空）")
    )
    column = serializers.CharField(label=_("列名"), allow_blank=True)
    cell = serializers.CharField(label=_("单元格"), allow_blank=True)
    message = serializers.CharField(label=_("错误说明"))


class ResultSerializer(serializers.Serializer):
    created = serializers.IntegerField(label=_("新增条数"))


class ImportJobSerializer(serializers.ModelSerializer):
    title = serializers.SerializerMethodField(label=_("导入类型名称"))
    progress = serializers.SerializerMethodField(label=_("进度"))
    errors = serializers.SerializerMethodField(label=_("错误（前 200 条）"))
    result = serializers.SerializerMethodField(label=_("导入结果"))
    error_report_url = serializers.SerializerMethodField(label=_("完整错误报告"))
    status = ImportStatusField(read_only=True, label=_("状态"))
    is_finished = serializers.BooleanField(read_only=True, label=_("已结束"))

    class Meta:
        model = ImportJob
        fields = [
            "id",
            "kind",
            "title",
            "file_name",
            "status",
            "is_finished",
            "progress",
            "total_rows",
            "processed_rows",
            "error_count",
            "errors",
            "error_report_url",
            "message",
            "result",
            "created_at",
            "started_at",
            "finished_at",
        ]
        read_only_fields = fields

    def get_title(self, job: ImportJob) -> str:
        importer = imports.get_importer(job.kind)
        return str(importer.title) if importer else job.kind

    @extend_schema_field(ProgressSerializer)
    def get_progress(self, job: ImportJob) -> dict[str, int]:
        return {"processed": job.processed_rows, "total": job.total_rows, "percent": job.percent}

    @extend_schema_field(IssueSerializer(many=True))
    def get_errors(self, job: ImportJob) -> list[dict[str, Any]]:
        return list(job.errors[:API_ERRORS])

    @extend_schema_field(ResultSerializer(allow_null=True))
    def get_result(self, job: ImportJob) -> dict[str, Any] | None:
        return job.result or None

    def get_error_report_url(self, job: ImportJob) -> str | None:
        if not job.error_report:
            return None
        url = reverse("import-errors", args=[job.pk])
        request = self.context.get("request")
        return request.build_absolute_uri(url) if request is not None else url


class UploadSerializer(serializers.Serializer):
    file = serializers.FileField(label=_("Excel 文件（.xlsx）"))


KIND_PARAMETER = OpenApiParameter(
    "kind",
    OpenApiTypes.STR,
    OpenApiParameter.PATH,
    description="导入类型，如 units（驻区单位）",
)
XLSX_RESPONSE = OpenApiResponse(response=OpenApiTypes.BINARY, description="Excel 文件（.xlsx）")


class ImportJobListView(generics.ListAPIView):
    tongxin_policy = SIGNED_IN
    serializer_class = ImportJobSerializer
    queryset = ImportJob.objects.none()
    filter_backends: list[Any] = []

    @extend_schema(summary="我的导入任务")
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    def get_queryset(self) -> Any:
        if getattr(self, "swagger_fake_view", False):
            return ImportJob.objects.none()
        return import_jobs.import_jobs_for(self.request.user)


class ImportStartView(APIView):
    tongxin_policy = SIGNED_IN
    parser_classes = [MultiPartParser]

    @extend_schema(
        summary="上传 Excel 文件，开始导入",
        description=(
            "文件先经基本检查（.xlsx 格式、大小），随后在后台逐行校验；全部通过才一次性写入，"
            "否则不写入任何数据并给出逐行错误。返回 202 与导入任务，用 GET /api/v1/imports/{id}/ "
            "查询进度和结果。"
        ),
        parameters=[KIND_PARAMETER],
        request={"multipart/form-data": UploadSerializer},
        responses={202: ImportJobSerializer},
    )
    def post(self, request: Request, kind: str) -> Response:
        serializer = UploadSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        job = import_jobs.import_job_create(
            actor=request.user, kind=kind, upload=serializer.validated_data["file"]
        )
        job.refresh_from_db()
        data = ImportJobSerializer(job, context={"request": request}).data
        return Response(data, status=status.HTTP_202_ACCEPTED)


class ImportTemplateView(APIView):
    tongxin_policy = SIGNED_IN

    @extend_schema(
        summary="下载导入模板",
        parameters=[KIND_PARAMETER],
        responses={(200, XLSX_CONTENT_TYPE): XLSX_RESPONSE},
    )
    def get(self, request: Request, kind: str) -> HttpResponse:
        importer = import_jobs.get_importer_for_user(request.user, kind)
        return xlsx_download(
            imports.template_bytes(importer),
            importer.template_filename(),
            importer.template_ascii_filename(),
        )


class ImportJobView(APIView):
    tongxin_policy = SIGNED_IN

    @extend_schema(summary="导入任务的状态、进度、错误和结果", responses=ImportJobSerializer)
    def get(self, request: Request, pk: int) -> Response:
        job = import_jobs.get_import_job_for_user(request.user, pk)
        return Response(ImportJobSerializer(job, context={"request": request}).data)


class ImportErrorsView(APIView):
    tongxin_policy = SIGNED_IN

    @extend_schema(
        summary="下载完整错误报告",
        responses={(200, XLSX_CONTENT_TYPE): XLSX_RESPONSE},
    )
    def get(self, request: Request, pk: int) -> FileResponse:
        job = import_jobs.get_import_job_for_user(request.user, pk)
        if not job.error_report or job.status != ImportStatus.FAILED_VALIDATION:
            raise Http404
        try:
            handle = job.error_report.open("rb")
        except OSError:
            raise Http404 from None
        response = FileResponse(handle, content_type=XLSX_CONTENT_TYPE)
        response["Content-Disposition"] = content_disposition(f"import-errors-{job.pk}.xlsx")
        return response


urlpatterns = [
    path("imports/", ImportJobListView.as_view(), name="import-list"),
    path("imports/<int:pk>/", ImportJobView.as_view(), name="import-detail"),
    path("imports/<int:pk>/errors/", ImportErrorsView.as_view(), name="import-errors"),
    path("imports/<import_kind:kind>/", ImportStartView.as_view(), name="import-start"),
    path(
        "imports/<import_kind:kind>/template/",
        ImportTemplateView.as_view(),
        name="import-template",
    ),
]
