# Gems made from Ruby libraries that Debian installed, in a directory `gem generate_index` indexes.
#
# Debian keeps a gem's specification under rubygems-integration and its files elsewhere (lib in
# vendor_ruby or in the gem directory, compiled extensions under rubygems-integration/.../extensions).
# Each such gem is packed again from the files of the Debian package that owns its specification:
# lib/ from vendor_ruby, the gem directory as it is (bin/, and lib/ for architecture-specific
# gems), compiled extensions put in lib/ (a platform gem, as precompiled gems are).
#
#   ruby gems.rb OUT     # writes OUT/gems/*.gem
require 'fileutils'
require 'rubygems/package'
require 'tmpdir'

out = File.join(ARGV.fetch(0), 'gems')
FileUtils.mkdir_p(out)
specs = Dir['/usr/share/rubygems-integration/all/specifications/*.gemspec'] +
        Dir['/usr/lib/*/rubygems-integration/*/specifications/*.gemspec']
LIB_ROOTS = [%r{\A/usr/lib/ruby/vendor_ruby/}, %r{\A/usr/lib/[^/]+/ruby/vendor_ruby/[^/]+/}].freeze
specs.each do |spec_file|
  owner = IO.popen(['dpkg', '-S', spec_file], err: File::NULL, &:read).split(':').first
  next if owner.nil? || owner.empty? || owner.start_with?('ruby3', 'libruby') # gems shipped with ruby itself
  spec = Gem::Specification.load(spec_file)
  gem_dir = File.join(File.dirname(File.dirname(spec_file)), 'gems', spec.full_name)
  ext_dir = %r{/extensions/[^/]+/[^/]+/#{Regexp.escape(spec.full_name)}/}
  files = IO.popen(['dpkg', '-L', owner], &:read).lines.map(&:chomp).select { |f| File.file?(f) }
  Dir.mktmpdir do |tree|
    packed = []
    files.each do |file|
      rel = if (root = LIB_ROOTS.find { |r| r.match?(file) }) then "lib/#{file.sub(root, '')}"
            elsif file.start_with?("#{gem_dir}/") then file.sub("#{gem_dir}/", '')
            elsif (m = ext_dir.match(file)) then "lib/#{file[m.end(0)..]}"
            end
      next unless rel
      FileUtils.mkdir_p(File.join(tree, File.dirname(rel)))
      FileUtils.cp(file, File.join(tree, rel))
      packed << rel
    end
    next if packed.empty? # a placeholder (rubygems-update): nothing to install
    spec.files = packed.sort
    spec.require_paths = ['lib']
    spec.bindir = 'bin'
    spec.executables = packed.grep(%r{\Abin/}).map { |f| File.basename(f) }
    spec.extensions = []
    spec.platform = Gem::Platform.local if packed.any? { |f| f.end_with?('.so') }
    spec.signing_key = nil
    spec.cert_chain = []
    Dir.chdir(tree) do
      built = Gem::Package.build(spec)
      FileUtils.mv(built, out)
      puts "#{owner}: #{built}"
    end
  end
end
