"""infra/template.yaml: cfn-lint clean, SAM turns it into CloudFormation, and it sets up
what the product relies on (an image function, the routes, CORS for the site, a private
bucket behind CloudFront, the outputs scripts/deploy_site.sh reads)."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "infra" / "template.yaml"
OUTPUTS = {"ApiUrl", "SiteUrl", "SiteBucketName", "SiteDistributionId", "FunctionName"}
CACHING_OPTIMIZED = "658327ea-f89d-4fab-a63d-7e88639e58f6"


@pytest.fixture(scope="module")
def template() -> dict:
    from cfnlint.decode import decode

    tpl, errors = decode(str(TEMPLATE))
    assert not errors, errors
    return tpl


@pytest.fixture(scope="module")
def resources(template) -> dict:
    return template["Resources"]


@pytest.fixture(scope="module")
def transformed(template) -> dict:
    """The CloudFormation that SAM makes of it (no AWS call: region given, no policy
    names to look up); ImageUri is what `sam build` adds."""
    from samtranslator.translator.transform import transform

    class NoPolicies:
        def load(self) -> dict:
            return {}

    tpl = copy.deepcopy(template)
    tpl["Resources"]["EmotionFunction"]["Properties"]["ImageUri"] = (
        "123456789012.dkr.ecr.us-east-1.amazonaws.com/emotion-api:latest")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("AWS_DEFAULT_REGION", "us-east-1")
        return transform(json.loads(json.dumps(tpl)), {}, NoPolicies())


def test_cfn_lint_finds_no_error_or_warning():
    from cfnlint.api import ManualArgs, lint_file

    matches = lint_file(TEMPLATE, ManualArgs(regions=["us-east-1", "eu-west-1"]))
    problems = [str(m) for m in matches if m.rule.id[0] in "EW"]
    assert not problems, "\n".join(problems)


def test_function_is_an_image_built_from_this_repo(resources):
    fn = resources["EmotionFunction"]
    assert fn["Type"] == "AWS::Serverless::Function"
    props = fn["Properties"]
    assert props["PackageType"] == "Image" and props["Architectures"] == ["x86_64"]
    meta = fn["Metadata"]
    context = (TEMPLATE.parent / meta["DockerContext"]).resolve()
    assert context == ROOT
    assert (context / meta["Dockerfile"]).is_file()
    assert meta["DockerTag"]


def test_function_settings(template, resources):
    props = resources["EmotionFunction"]["Properties"]
    timeout = props.get("Timeout", template.get("Globals", {}).get("Function", {}).get("Timeout"))
    assert timeout == 15
    assert props["Tracing"] == "Active"
    assert props["MemorySize"] == {"Ref": "MemorySize"}
    assert props["Environment"]["Variables"] == {
        "POWERTOOLS_SERVICE_NAME": "emotion-api",
        "POWERTOOLS_METRICS_NAMESPACE": "EmotionEvaluator",
        "POWERTOOLS_LOG_LEVEL": "INFO"}


def test_local_emulation_matches_the_deployed_settings(template):
    from tools import lambda_local

    assert template["Parameters"]["MemorySize"]["Default"] == lambda_local.MEMORY_MB
    assert template["Globals"]["Function"]["Timeout"] == lambda_local.TIMEOUT_S


def test_routes(transformed):
    api = [r for r in transformed["Resources"].values()
           if r["Type"] == "AWS::ApiGatewayV2::Api"]
    assert len(api) == 1
    paths = api[0]["Properties"]["Body"]["paths"]
    assert set(paths) == {"/face", "/health"}
    assert set(paths["/face"]) == {"post"} and set(paths["/health"]) == {"get"}
    for route in (paths["/face"]["post"], paths["/health"]["get"]):
        integration = route["x-amazon-apigateway-integration"]
        assert integration["type"] == "aws_proxy"
        assert integration["payloadFormatVersion"] == "2.0"   # what events/*-http-api.json are


def test_cors_lets_the_site_call_the_api(resources):
    api = resources["HttpApi"]["Properties"]
    cors = api["CorsConfiguration"]
    origin = cors["AllowOrigins"][0]["Fn::If"]
    assert origin[1] == {"Fn::Sub": "https://${SiteDistribution.DomainName}"}
    assert set(cors["AllowMethods"]) >= {"GET", "POST", "OPTIONS"}
    assert "Content-Type" in cors["AllowHeaders"]
    assert "Server-Timing" in cors["ExposeHeaders"]
    route = api["DefaultRouteSettings"]
    assert route["ThrottlingBurstLimit"] == {"Ref": "ThrottlingBurstLimit"}
    assert route["ThrottlingRateLimit"] == {"Ref": "ThrottlingRateLimit"}


def test_outputs(template):
    assert OUTPUTS <= set(template["Outputs"])


def test_site_bucket_is_private(resources):
    bucket = resources["SiteBucket"]["Properties"]
    assert bucket["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True, "BlockPublicPolicy": True,
        "IgnorePublicAcls": True, "RestrictPublicBuckets": True}
    assert bucket["OwnershipControls"]["Rules"] == [{"ObjectOwnership": "BucketOwnerEnforced"}]
    assert "BucketEncryption" in bucket
    assert "WebsiteConfiguration" not in bucket and "AccessControl" not in bucket
    policies = [r["Properties"] for r in resources.values() if r["Type"] == "AWS::S3::BucketPolicy"]
    assert len(policies) == 1 and policies[0]["Bucket"] == {"Ref": "SiteBucket"}
    for statement in policies[0]["PolicyDocument"]["Statement"]:
        if statement["Effect"] != "Allow":
            continue
        assert statement["Principal"] == {"Service": "cloudfront.amazonaws.com"}
        assert statement["Action"] == "s3:GetObject"
        source = statement["Condition"]["StringEquals"]["AWS:SourceArn"]["Fn::Sub"]
        assert source.endswith(":distribution/${SiteDistribution}")


def test_site_is_served_by_cloudfront_through_oac(resources):
    oac = resources["SiteOriginAccessControl"]["Properties"]["OriginAccessControlConfig"]
    assert (oac["SigningBehavior"], oac["SigningProtocol"]) == ("always", "sigv4")
    config = resources["SiteDistribution"]["Properties"]["DistributionConfig"]
    assert config["DefaultRootObject"] == "index.html"
    [origin] = config["Origins"]
    assert origin["OriginAccessControlId"] == {"Fn::GetAtt": ["SiteOriginAccessControl", "Id"]}
    behaviour = config["DefaultCacheBehavior"]
    assert behaviour["TargetOriginId"] == origin["Id"]
    assert behaviour["ViewerProtocolPolicy"] == "redirect-to-https"
    assert behaviour["CachePolicyId"] == CACHING_OPTIMIZED


def test_site_is_served_with_the_pages_content_security_policy(resources):
    """CloudFront sends the page the CSP the local server sends (function/serve.py), its
    connections allowed to the page's origin and the region's API Gateway hosts only."""
    from function.serve import SECURITY_HEADERS, site_csp

    behaviour = resources["SiteDistribution"]["Properties"]["DistributionConfig"][
        "DefaultCacheBehavior"]
    assert behaviour["ResponseHeadersPolicyId"] == {"Ref": "SiteResponseHeaders"}
    policy = resources["SiteResponseHeaders"]
    assert policy["Type"] == "AWS::CloudFront::ResponseHeadersPolicy"
    security = policy["Properties"]["ResponseHeadersPolicyConfig"]["SecurityHeadersConfig"]
    csp = security["ContentSecurityPolicy"]
    assert csp["Override"] is True
    api = "https://*.execute-api.${AWS::Region}.${AWS::URLSuffix}"
    assert csp["ContentSecurityPolicy"] == {"Fn::Sub": site_csp([api])}
    directives = dict(d.split(" ", 1) for d in csp["ContentSecurityPolicy"]["Fn::Sub"].split("; "))
    assert directives["connect-src"] == f"'self' {api}"
    assert directives["default-src"] == "'self'"
    # The rest of what the managed security policy it replaces gave, as the local server.
    assert security["FrameOptions"]["FrameOption"] == SECURITY_HEADERS["X-Frame-Options"]
    assert security["ReferrerPolicy"]["ReferrerPolicy"] == SECURITY_HEADERS["Referrer-Policy"]
    assert security["ContentTypeOptions"]["Override"] is True
    assert security["StrictTransportSecurity"]["AccessControlMaxAgeSec"] >= 31536000
