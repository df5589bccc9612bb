#include "server/main/pipeline_sink.h"

#include <gtest/gtest.h>

#include <memory>
#include <vector>

namespace server::main {
namespace {

// Records what reaches the pipeline.
class RecordingDispatcher final : public rest::Dispatcher {
 public:
  rest::FhirResponse Dispatch(rest::FhirRequest&) const override { return {500}; }
  fhir::Result<rest::FhirResponse> Route(rest::FhirRequest& request) const override {
    seen.push_back({request.principal, request.base_url, request.registry, request.path});
    if (request.path == "fail") return fhir::Error::Conflict("test.conflict", "refused");
    return rest::FhirResponse{201};
  }
  fhir::Result<void> Refused(const rest::FhirRequest&, const fhir::Error&) const override {
    return {};
  }
  struct Seen {
    std::shared_ptr<const rest::Principal> principal;
    std::string base_url;
    std::shared_ptr<const search::Registry> registry;
    std::string path;
  };
  mutable std::vector<Seen> seen;
};

class CountingRegistries final : public rest::RegistrySource {
 public:
  std::shared_ptr<const search::Registry> Current() const override { return nullptr; }
  void Answered(const rest::FhirRequest&, const rest::FhirResponse& response) override {
    statuses.push_back(response.status);
  }
  std::vector<int> statuses;
};

TEST(PipelineSinkTest, RoutesAsThePrincipalWithTheServersBase) {
  RecordingDispatcher pipeline;
  CountingRegistries registries;
  PipelineSink sink(pipeline, &registries, "http://127.0.0.1:8080/fhir");
  rest::Principal who;
  who.method = "mllp";
  who.subject = "LAB^HOSP";
  who.roles = {rest::Role::kConnector};
  rest::FhirRequest request;
  request.method = rest::Method::kPost;
  auto answer = sink.Send(who, std::move(request));
  ASSERT_TRUE(answer.ok());
  EXPECT_EQ(answer->status, 201);
  ASSERT_EQ(pipeline.seen.size(), 1u);
  ASSERT_NE(pipeline.seen[0].principal, nullptr);
  EXPECT_EQ(pipeline.seen[0].principal->subject, "LAB^HOSP");
  EXPECT_EQ(pipeline.seen[0].principal->method, "mllp");
  EXPECT_EQ(pipeline.seen[0].base_url, "http://127.0.0.1:8080/fhir");
  EXPECT_EQ(registries.statuses, std::vector<int>{201});
}

TEST(PipelineSinkTest, KeepsTheRequestsOwnBaseAndReportsErrors) {
  RecordingDispatcher pipeline;
  CountingRegistries registries;
  PipelineSink sink(pipeline, &registries, "http://127.0.0.1:8080/fhir");
  rest::FhirRequest request;
  request.path = "fail";
  request.base_url = "https://fhir.example.cn/fhir";
  auto answer = sink.Send(rest::Principal(), std::move(request));
  ASSERT_FALSE(answer.ok());
  EXPECT_EQ(answer.error().http_status(), 409);
  EXPECT_EQ(pipeline.seen.at(0).base_url, "https://fhir.example.cn/fhir");
  EXPECT_EQ(registries.statuses, std::vector<int>{409});
}

}  // namespace
}  // namespace server::main
