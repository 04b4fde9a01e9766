"""Wheels made from Python packages that Debian installed, and a PEP 503 simple index of them.

pip cannot wheel an installed tree, so each Debian package that ships a distribution's metadata
under /usr/lib/python3/dist-packages becomes one wheel here: its files there (no __pycache__),
and its metadata as a .dist-info (an .egg-info's PKG-INFO and requires.txt are translated to
METADATA with Requires-Dist), with a RECORD of every file. Debian drops the unconditional
requirements from that metadata (its package dependencies stand for them): the Depends of the
Debian package on others made into wheels here are written back as Requires-Dist. A package with compiled extensions
gets this interpreter's tag (cp311-cp311-linux_x86_64); the others are py3-none-any.

  python3 wheels.py OUT     # writes OUT/wheels/*.whl and OUT/simple/<name>/index.html
"""
import base64
import hashlib
import html
import os
import re
import subprocess
import sys
import sysconfig
import zipfile

SITE = "/usr/lib/python3/dist-packages/"


def dpkg(*args):
    return subprocess.run(["dpkg", *args], check=True, capture_output=True, text=True).stdout


def headers_and_body(text):
    head, _, body = text.partition("\n\n")
    return head.rstrip("\n").split("\n"), body


def requires_dist(requires_txt):
    """setuptools' requires.txt ([extra:marker] sections) as Requires-Dist/Provides-Extra lines."""
    lines, extra, marker = [], "", ""
    for raw in requires_txt.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        section = re.fullmatch(r"\[(.*)\]", line)
        if section:
            extra, _, marker = section.group(1).partition(":")
            if extra:
                lines.append(f"Provides-Extra: {extra}")
            continue
        conditions = [f"({marker})"] if marker else []
        if extra:
            conditions.append(f'extra == "{extra}"')
        lines.append(f"Requires-Dist: {line}" + (f" ; {' and '.join(conditions)}" if conditions else ""))
    return lines


def metadata_of(meta_path):
    """(METADATA text, extra .dist-info files) from a .dist-info or .egg-info (dir or file)."""
    extra = {}
    if meta_path.endswith(".dist-info"):
        text = open(os.path.join(meta_path, "METADATA"), encoding="utf-8").read()
        names = ["entry_points.txt", "top_level.txt"]
    elif os.path.isdir(meta_path):
        head, body = headers_and_body(open(os.path.join(meta_path, "PKG-INFO"), encoding="utf-8").read())
        requires = os.path.join(meta_path, "requires.txt")
        if os.path.exists(requires):
            head = [h for h in head if not h.startswith(("Requires-Dist:", "Provides-Extra:"))]
            head += requires_dist(open(requires, encoding="utf-8").read())
        text = "\n".join(head) + "\n\n" + body
        names = ["entry_points.txt", "top_level.txt"]
    else:
        text, names = open(meta_path, encoding="utf-8").read(), []
    for name in names:
        path = os.path.join(meta_path, name)
        if os.path.exists(path):
            extra[name] = open(path, "rb").read()
    return text, extra


def field(text, name):
    match = re.search(rf"^{name}: *(.+)$", text, re.M)
    return match.group(1).strip() if match else None


def record_line(arcname, data):
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{arcname},sha256={digest},{len(data)}"


def distribution_of(package):
    """(its files under SITE, its metadata path) for a Debian package shipping one distribution, else None."""
    files = [f for f in dpkg("-L", package).splitlines() if f.startswith(SITE)]
    metas = sorted({SITE + f[len(SITE):].split("/")[0] for f in files if re.match(r"[^/]+\.(egg|dist)-info(/|$)", f[len(SITE):])})
    if len(metas) != 1:
        return None
    return files, metas[0]


def depends(package, known):
    """The packages of `known` a Debian package depends on (of alternatives, the first known one)."""
    text = subprocess.run(["dpkg-query", "-W", "-f", "${Depends}", package], check=True, capture_output=True, text=True).stdout
    found = set()
    for dep in text.split(","):
        alternatives = [alt.strip().split(" ")[0].split(":")[0] for alt in dep.split("|") if alt.strip()]
        found.update([alt for alt in alternatives if alt in known][:1])
    return found - {package}


def with_requirements(text, names):
    """METADATA with a Requires-Dist for each name it does not list unconditionally yet."""
    head, body = headers_and_body(text)
    listed = {re.split(r"[ ;(<>=!~\[]", h.split(":", 1)[1].strip())[0].lower() for h in head if h.startswith("Requires-Dist:") and ";" not in h}
    head += [f"Requires-Dist: {n}" for n in sorted(names) if n.lower() not in listed]
    return "\n".join(head) + "\n\n" + body


def write_wheel(out, files, meta, requirements):
    text, extra = metadata_of(meta)
    text = with_requirements(text, requirements)
    name, version = field(text, "Name"), field(text, "Version")
    content = {}
    for f in files:
        rel = f[len(SITE):]
        if rel.startswith(os.path.basename(meta)) or "__pycache__" in rel.split("/") or not os.path.isfile(f):
            continue
        content[rel] = open(f, "rb").read()
    native = any(re.search(r"\.so(\.|$)", rel) for rel in content)
    tag = "py3-none-any"
    if native:
        interp = f"cp{sys.version_info.major}{sys.version_info.minor}"
        tag = f"{interp}-{interp}-{sysconfig.get_platform().replace('-', '_').replace('.', '_')}"
    dist = re.sub(r"[-_.]+", "_", name)
    info = f"{dist}-{version}.dist-info"
    content[f"{info}/METADATA"] = text.encode("utf-8")
    for file, data in extra.items():
        content[f"{info}/{file}"] = data
    content[f"{info}/WHEEL"] = (
        f"Wheel-Version: 1.0\nGenerator: paas-test-index\nRoot-Is-Purelib: {'false' if native else 'true'}\nTag: {tag}\n"
    ).encode()
    record = [record_line(arc, data) for arc, data in sorted(content.items())] + [f"{info}/RECORD,,"]
    content[f"{info}/RECORD"] = ("\n".join(record) + "\n").encode()
    filename = f"{dist}-{version}-{tag}.whl"
    with zipfile.ZipFile(os.path.join(out, "wheels", filename), "w", zipfile.ZIP_DEFLATED) as whl:
        for arc in sorted(content, key=lambda a: (a.startswith(info), a)):
            whl.writestr(zipfile.ZipInfo(arc, date_time=(2020, 1, 1, 0, 0, 0)), content[arc], zipfile.ZIP_DEFLATED)
    return name, filename


def main(out):
    os.makedirs(os.path.join(out, "wheels"), exist_ok=True)
    owners = dpkg("-S", SITE + "*-info").splitlines()
    packages = sorted({pkg for line in owners for pkg in line.split(":")[0].split(", ")})
    found = {p: d for p in packages if (d := distribution_of(p))}
    names = {p: field(metadata_of(meta)[0], "Name") for p, (_, meta) in found.items()}
    by_project = {}
    for package, (files, meta) in found.items():
        made = write_wheel(out, files, meta, {names[d] for d in depends(package, names)})
        by_project.setdefault(re.sub(r"[-_.]+", "-", made[0]).lower(), []).append(made[1])
        print(f"{package}: {made[1]}")
    links = []
    for project, wheels in sorted(by_project.items()):
        os.makedirs(os.path.join(out, "simple", project), exist_ok=True)
        rows = []
        for wheel in wheels:
            sha = hashlib.sha256(open(os.path.join(out, "wheels", wheel), "rb").read()).hexdigest()
            rows.append(f'<a href="../../wheels/{html.escape(wheel)}#sha256={sha}">{html.escape(wheel)}</a><br>')
        page = "<!DOCTYPE html>\n<html><body>\n" + "\n".join(rows) + "\n</body></html>\n"
        open(os.path.join(out, "simple", project, "index.html"), "w").write(page)
        links.append(f'<a href="{project}/">{project}</a><br>')
    open(os.path.join(out, "simple", "index.html"), "w").write("<!DOCTYPE html>\n<html><body>\n" + "\n".join(links) + "\n</body></html>\n")


if __name__ == "__main__":
    main(sys.argv[1])
