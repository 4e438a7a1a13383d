#include "config/fpm_load.h"

#include <memory>
#include <utility>

#include "config/load_yaml.h"

namespace tfpm::config {

Result<FpmLoaded> LoadFpmConfig(const std::string& path, const fpm::ImportOptions& options, fpm::Files& files) {
  fpm::ParseOptions parse;
  parse.prefix = options.prefix;
  auto doc = fpm::Parse(path, files, parse);
  if (!doc.ok()) return doc.status();
  auto imported = fpm::Import(*doc, options);
  if (!imported.ok()) return imported.status();
  auto cfg = LoadConfigString(imported->yaml, path);
  if (!cfg.ok()) {
    return Status::InvalidArgument(fpm::TranslateYamlError(*imported, path, cfg.status().message()));
  }
  FpmLoaded out;
  out.translate = [whole = std::make_shared<const fpm::Imported>(*imported), path](std::string_view message) {
    return fpm::TranslateYamlError(*whole, path, message);
  };
  out.config = std::move(cfg.value());
  out.yaml = std::move(imported->yaml);
  out.notes = std::move(imported->notes);
  out.warnings = std::move(imported->warnings);
  out.daemonize = imported->daemonize;

  return out;
}

}  // namespace tfpm::config
