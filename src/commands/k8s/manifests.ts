import { Flags } from '@oclif/core';
import { PaasCommand } from '../../ui/command.js';
import { resolveApp } from '../../app.js';
import { releaseSpec } from '../../release/spec.js';
import { manifestsList, manifestsYaml, planManifests, type K8sObject } from '../../k8s/manifests.js';

export default class K8sManifests extends PaasCommand {
  static override summary = 'Print Kubernetes manifests for the app in --dir (no host, no cluster needed)';
  static override description = 'Plans the same release a deploy would (processes, formation, port, health check, paas.yml env, volumes, limits, domains) and prints it as Kubernetes objects: a ConfigMap of paas.yml env, a Secret listing the config vars to fill in, a PersistentVolumeClaim per volume, a Deployment and a HorizontalPodAutoscaler per process type, a Service and an Ingress for web, and a CronJob per scheduled task. The image must be in a registry the cluster can pull from: push it there and pass its reference with --image. See docs/kubernetes.md.';
  static override examples = [
    '<%= config.bin %> k8s:manifests',
    '<%= config.bin %> k8s:manifests --dir ./api --image registry.example.com/api:v3 --namespace api > api.yaml',
    '<%= config.bin %> k8s:manifests --ingress-class nginx --tls-secret api-tls --max-replicas 6 | kubectl apply -f -',
    '<%= config.bin %> k8s:manifests --format json | jq \'.items[].kind\'',
  ];
  static override flags = {
    dir: Flags.directory({ description: 'app directory', default: '.' }),
    image: Flags.string({ description: 'image reference the cluster pulls (default paas/<app>:latest; push the image to a registry the cluster can pull from)' }),
    namespace: Flags.string({ char: 'n', description: 'namespace of every object (default: none, kubectl\'s current one)' }),
    'ingress-class': Flags.string({ description: 'ingressClassName of the Ingress (default: none, the cluster\'s default class)' }),
    'tls-secret': Flags.string({ description: 'kubernetes.io/tls Secret with the domains\' certificate: adds the Ingress\'s tls section' }),
    'max-replicas': Flags.integer({ description: 'maxReplicas of every HPA (default twice the type\'s replicas; never below them)', min: 1 }),
    format: Flags.string({ description: 'output format: a multi-document YAML stream, or a JSON v1 List', options: ['yaml', 'json'], default: 'yaml' }),
  };

  async run(): Promise<{ app: string; image: string; objects: K8sObject[] }> {
    const { flags } = await this.parse(K8sManifests);
    const { app, plan, config } = await resolveApp(flags.dir);
    const image = flags.image ?? `paas/${app}:latest`;
    const spec = releaseSpec({ app, plan, config, image, imageId: '', version: 0, description: 'k8s:manifests', createdBy: '' });
    const objects = planManifests(spec, {
      ...(flags.namespace !== undefined ? { namespace: flags.namespace } : {}),
      ...(flags['ingress-class'] !== undefined ? { ingressClass: flags['ingress-class'] } : {}),
      ...(flags['tls-secret'] !== undefined ? { tlsSecret: flags['tls-secret'] } : {}),
      ...(flags['max-replicas'] !== undefined ? { maxReplicas: flags['max-replicas'] } : {}),
    });
    if (!this.jsonEnabled()) {
      process.stdout.write(flags.format === 'json' ? `${JSON.stringify(manifestsList(objects), null, 2)}\n` : manifestsYaml(objects));
    }
    return { app, image, objects };
  }
}
