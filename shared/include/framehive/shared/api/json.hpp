#pragma once
// The contract's types as JSON (nlohmann-json), with the same member names as on the XML-RPC
// wire (names.hpp): what framehive-ctl --json prints and what an HTTP API serves. Members keep
// the order of the types. Pure functions, thread-safe.

#include "framehive/shared/api/types.hpp"

#include <nlohmann/json.hpp>

namespace fh::shared::api {

using Json = nlohmann::ordered_json;

void to_json(Json& j, const Detection& d);
void to_json(Json& j, const ResultRecord& r);
void to_json(Json& j, const FailureRecord& f);
void to_json(Json& j, const WorkerStatus& w);
void to_json(Json& j, const PortStatus& p);
void to_json(Json& j, const Status& s);
void to_json(Json& j, const SummaryBucket& b);
void to_json(Json& j, const TaskInfo& t);
void to_json(Json& j, const ReceiverPortCounters& c);
void to_json(Json& j, const ReceiverStatus& r);
/// An event as its webhook body, MQTT payload and API item: object members only for object
/// events, seq only once stored, zone and detail only when set (docs/events.md).
void to_json(Json& j, const Event& e);
/// The inverse of to_json(Event), for what the master itself stored; throws Json's exceptions
/// on a document of another shape.
Event event_from_json(const Json& j);

}  // namespace fh::shared::api
