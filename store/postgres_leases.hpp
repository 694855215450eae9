// The cluster's shard leases in PostgreSQL (actors/shard_leases.hpp's
// lease_store): one transaction per round, the shard rows locked FOR UPDATE
// so that the rounds of all nodes are serialized by the database.
#pragma once

#include <memory>
#include <string>

#include "actors/shard_leases.hpp"

namespace chatd {

// Creates the lease tables if needed; throws if the database cannot be opened.
std::shared_ptr<lease_store> open_postgres_leases(const std::string& url);

}  // namespace chatd
