// Binary operators (Prometheus 2.42 engine.go VectorBinop & friends).
#include <algorithm>
#include <cmath>
#include <unordered_map>

#include "promql/evaluator.hpp"
#include "storage/quote.hpp"

namespace nl::promql::detail {

namespace {

using storage::label_set;

bool drops_metric_name(binary_op op) {
  switch (op) {
    case binary_op::add:
    case binary_op::sub:
    case binary_op::mul:
    case binary_op::div:
    case binary_op::pow:
    case binary_op::mod: return true;
    default: return false;
  }
}

// Value and whether to keep the sample (comparisons filter).
std::pair<double, bool> elem_binop(binary_op op, double l, double r) {
  switch (op) {
    case binary_op::add: return {l + r, true};
    case binary_op::sub: return {l - r, true};
    case binary_op::mul: return {l * r, true};
    case binary_op::div: return {l / r, true};
    case binary_op::pow: return {std::pow(l, r), true};
    case binary_op::mod: return {std::fmod(l, r), true};
    case binary_op::atan2: return {std::atan2(l, r), true};
    case binary_op::eql: return {l, l == r};
    case binary_op::neq: return {l, l != r};
    case binary_op::gtr: return {l, l > r};
    case binary_op::lss: return {l, l < r};
    case binary_op::gte: return {l, l >= r};
    case binary_op::lte: return {l, l <= r};
    default: break;
  }
  throw eval_error{query_error::internal, "operator not allowed between values"};
}

double scalar_binop(binary_op op, double l, double r) {
  if (is_comparison(op)) {
    auto [v, keep] = elem_binop(op, l, r);
    (void)v;
    return keep ? 1 : 0;
  }
  return elem_binop(op, l, r).first;
}

// The matching signature of a series: on(...) keeps the listed labels,
// ignoring(...) drops them and the metric name.
label_set signature_labels(const label_set& ls, const std::vector<std::string>& names, bool on) {
  std::vector<storage::label> out;
  for (auto& l : ls) {
    bool listed = std::find(names.begin(), names.end(), l.name) != names.end();
    if (on ? listed : (!listed && l.name != storage::metric_name_label)) out.push_back(l);
  }
  return label_set(std::move(out));
}

// Dense ids for signatures, shared by both sides.
class signature_index {
 public:
  size_t get(const label_set& sig) {
    uint64_t h = sig.hash();
    auto r = by_hash_.equal_range(h);
    for (auto it = r.first; it != r.second; ++it)
      if (sigs_[it->second] == sig) return it->second;
    sigs_.push_back(sig);
    by_hash_.emplace(h, sigs_.size() - 1);
    return sigs_.size() - 1;
  }
  size_t size() const { return sigs_.size(); }

 private:
  std::vector<label_set> sigs_;
  std::unordered_multimap<uint64_t, size_t> by_hash_;
};

// Prometheus' labels.String(): every label in braces, the name included.
std::string labels_string(const label_set& ls) {
  std::string out = "{";
  for (auto& l : ls) {
    if (out.size() > 1) out += ", ";
    out += l.name + "=" + storage::go_quote(l.value);
  }
  return out + "}";
}

}  // namespace

matrix evaluator::eval_binary(const binary_expr& b) {
  const value_type lt = b.lhs->type();
  const value_type rt = b.rhs->type();
  std::vector<matrix> inputs;
  inputs.push_back(eval(*b.lhs));
  inputs.push_back(eval(*b.rhs));
  const binary_op op = b.op;
  static const label_set empty_labels;

  if (lt == value_type::scalar && rt == value_type::scalar) {
    return combine(inputs, [&](const std::vector<step_vector>& in, int64_t, step_vector& out) {
      double l = in[0].empty() ? NAN : in[0][0].v;
      double r = in[1].empty() ? NAN : in[1][0].v;
      out.push_back({&empty_labels, scalar_binop(op, l, r), 0});
    });
  }

  if (lt != value_type::vector || rt != value_type::vector) {
    // Vector and scalar, either order: one output series per input series.
    const bool swap = lt == value_type::scalar;
    const bool drop = drops_metric_name(op) || b.return_bool;
    const matrix& scalar_side = inputs[swap ? 0 : 1];
    const std::vector<double> scalar = scalar_steps(scalar_side);
    const bool comparison = is_comparison(op);
    const bool return_bool = b.return_bool;
    return map_series(
        std::move(inputs[swap ? 1 : 0]), drop,
        [](label_set& ls) { ls = drop_metric_name(ls); },
        [&](double v, size_t step, double& out) {
          double l = v, r = scalar[step];
          if (swap) std::swap(l, r);
          auto [value, keep] = elem_binop(op, l, r);
          // Comparisons filter the vector side but report its value.
          if (comparison && swap) value = r;
          if (return_bool) {
            value = keep ? 1 : 0;
            keep = true;
          }
          out = value;
          return keep;
        },
        {&scalar_side});
  }

  // Vector and vector.
  if (!b.matching) throw eval_error{query_error::internal, "vector matching missing"};
  const vector_matching& vm = *b.matching;
  std::vector<std::string> match_names = vm.labels;
  std::sort(match_names.begin(), match_names.end());
  signature_index sigs;
  std::vector<size_t> sig[2];
  for (int side = 0; side < 2; ++side)
    for (auto& s : inputs[static_cast<size_t>(side)])
      sig[side].push_back(sigs.get(signature_labels(s.labels, match_names, vm.on)));
  // Per-step scratch indexed by signature id, reset by stamping.
  std::vector<size_t> seen_stamp(sigs.size(), 0);
  std::vector<size_t> seen_at(sigs.size(), 0);
  size_t step_no = 0;

  if (is_set_operator(op)) {
    return combine(inputs, [&](const std::vector<step_vector>& in, int64_t, step_vector& out) {
      const step_vector& l = in[0];
      const step_vector& r = in[1];
      ++step_no;
      if (op == binary_op::land) {
        if (l.empty() || r.empty()) return;
        for (auto& s : r) seen_stamp[sig[1][s.series]] = step_no;
        for (auto& s : l)
          if (seen_stamp[sig[0][s.series]] == step_no) out.push_back(s);
      } else if (op == binary_op::lor) {
        for (auto& s : l) {
          seen_stamp[sig[0][s.series]] = step_no;
          out.push_back(s);
        }
        for (auto& s : r)
          if (l.empty() || seen_stamp[sig[1][s.series]] != step_no) out.push_back(s);
      } else {
        if (!r.empty())
          for (auto& s : r) seen_stamp[sig[1][s.series]] = step_no;
        for (auto& s : l)
          if (r.empty() || seen_stamp[sig[0][s.series]] != step_no) out.push_back(s);
      }
    });
  }

  if (vm.card == vector_match_cardinality::many_to_many)
    throw eval_error{query_error::internal, "many-to-many only allowed for set operators"};
  const bool one_to_many = vm.card == vector_match_cardinality::one_to_many;
  // The "many" side drives the loop; the "one" side is looked up.
  const int many = one_to_many ? 1 : 0;
  const int one = 1 - many;
  label_arena arena;
  // Result labels per (many series, one series) pair.
  std::unordered_map<uint64_t, const label_set*> result_cache;
  std::vector<size_t> matched_stamp(sigs.size(), 0);
  std::vector<std::vector<const label_set*>> matched_sets(sigs.size());

  auto result_labels = [&](const step_sample& ms, const step_sample& os) -> const label_set* {
    uint64_t key = (static_cast<uint64_t>(ms.series) << 32) | os.series;
    auto it = result_cache.find(key);
    if (it != result_cache.end()) return it->second;
    storage::label_set_builder lb(*ms.labels);
    if (drops_metric_name(op)) lb.del(storage::metric_name_label);
    if (vm.card == vector_match_cardinality::one_to_one) {
      if (vm.on) {
        lb.keep(match_names);
      } else {
        for (auto& n : match_names) lb.del(n);
      }
    }
    for (auto& n : vm.include) {
      std::string_view v = os.labels->get(n);
      if (!v.empty())
        lb.set(n, v);
      else
        lb.del(n);
    }
    label_set res = lb.build();
    if (b.return_bool) res = drop_metric_name(res);
    arena.push_back(std::move(res));
    result_cache.emplace(key, &arena.back());
    return &arena.back();
  };

  return combine(inputs, [&](const std::vector<step_vector>& in, int64_t, step_vector& out) {
    const step_vector& mv = in[static_cast<size_t>(many)];
    const step_vector& ov = in[static_cast<size_t>(one)];
    if (mv.empty() || ov.empty()) return;
    ++step_no;
    for (size_t i = 0; i < ov.size(); ++i) {
      size_t sg = sig[one][ov[i].series];
      if (seen_stamp[sg] == step_no) {
        const step_sample& dup = ov[seen_at[sg]];
        label_set matched_labels = signature_labels(*ov[i].labels, match_names, vm.on);
        fail("found duplicate series for the match group " + labels_string(matched_labels) +
             " on the " + (one_to_many ? "left" : "right") + " hand-side of the operation: [" +
             labels_string(*ov[i].labels) + ", " + labels_string(*dup.labels) +
             "];many-to-many matching not allowed: matching labels must be unique on one side");
      }
      seen_stamp[sg] = step_no;
      seen_at[sg] = i;
    }
    for (auto& ms : mv) {
      size_t sg = sig[many][ms.series];
      if (seen_stamp[sg] != step_no) continue;
      const step_sample& os = ov[seen_at[sg]];
      double l = ms.v, r = os.v;
      if (one_to_many) std::swap(l, r);
      auto [value, keep] = elem_binop(op, l, r);
      if (b.return_bool) {
        value = keep ? 1 : 0;
      } else if (!keep) {
        continue;
      }
      const label_set* labels = result_labels(ms, os);
      if (vm.card == vector_match_cardinality::one_to_one) {
        if (matched_stamp[sg] == step_no)
          fail("multiple matches for labels: many-to-one matching must be explicit "
               "(group_left/group_right)");
        matched_stamp[sg] = step_no;
      } else {
        auto& sets = matched_sets[sg];
        if (matched_stamp[sg] != step_no) {
          matched_stamp[sg] = step_no;
          sets.clear();
        } else {
          for (auto* other : sets)
            if (*other == *labels)
              fail("multiple matches for labels: grouping labels must ensure unique matches");
        }
        sets.push_back(labels);
      }
      out.push_back({labels, value, 0});
    }
  });
}

}  // namespace nl::promql::detail
